"""The classroom page's front-end files, kept on this machine so the page works with no internet.

Solara's page template loads its JavaScript and CSS from `/_solara/cdn/<npm spec>/<file>`; the
server answers from `SOLARA_ASSETS_PROXY_CACHE_DIR/<npm spec>/<file>` and only falls back to a
public CDN when a file is missing (which fails in a classroom without internet: a blank page).
A CDN path `<spec>/<file>` is file `<file>` of the npm package `<spec>`, so `npm pack <spec>`,
unpacked without its top `package/` folder, fills the cache exactly. The specs are read from
the installed solara itself, so the cache always matches the pinned solara version.

No npm is needed where the `solara-assets` Python package (pinned in the `app` extra) holds those
exact specs: it installs the same npm packages, unpacked, in `<environment>/share/solara/cdn`,
and the cache links to them. Only a spec it lacks (a solara upgrade ahead of solara-assets) is
fetched with npm. Whatever the cache lacks, `refuse_cdn_fetches` makes the server answer 404
rather than fetch it from the internet.

plotly.js, which draws the live figures, is the file inside the installed `plotly` Python package:
it is copied into the same cache (`plotly.js@<version>/plotly.min.js`, no npm needed) and served
from there once per browser.

    python -m aidsim.app.assets            # fill the cache (what `aidsim-app` does on first start)
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from aidsim.model.errors import ConfigError

ENV = "AIDSIM_ASSETS_DIR"

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for Debian's headless Chromium on a machine with no internet (the browser tests and the
classroom benchmark): no sandbox as root, no background fetches that a closed network refuses."""
"""Override for where the cache lives (default: inside the active Python environment)."""

NEEDED = ("@widgetti/solara-vuetify-app@", "requirejs@", "font-awesome@")
"""Packages every solara page with ipyvue 1.x loads; the page uses no component (altair, math,
mermaid, the draggable grid) that lazily needs anything else."""

# An npm spec right after the CDN prefix in solara's Jinja templates ({{cdn}}/) or in its settings
# default for font-awesome ("/font-awesome@4.5.0/css/...").
_SPEC = r"((?:@[\w.-]+/)?[\w.-]+@[\w.+-]*\w)"
_PATTERNS = (re.compile(r"\{\{\s*cdn\s*\}\}/" + _SPEC + "/"), re.compile(r"fontawesome_path[^=]*=\s*\"/" + _SPEC + "/"))


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a test's or a benchmark's own server)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(proc: subprocess.Popen, url: str, seconds: float) -> str | None:
    """Wait for the server `proc` to answer `url` with 200; None when it does, else one line on why
    not (it exited, or the time ran out). Used by the browser tests and the classroom benchmark."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return None
        except OSError:
            pass
        if time.monotonic() > deadline:
            return f"the server did not answer {url} within {seconds:g} s"
        time.sleep(0.5)
    return f"the server exited (code {proc.returncode})"


def _plotly_js() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("plotly is not installed: pip install -e '.[app]'")
    return Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"


def plotly_spec() -> str:
    """`plotly.js@<version>` of the plotly.js inside the installed plotly package (from its header)."""
    with open(_plotly_js(), encoding="utf-8") as f:
        found = re.search(r"plotly\.js v(\d[\w.+-]*)", f.read(400))
    return f"plotly.js@{found.group(1) if found else 'bundled'}"


PLOTLY_URL = f"/_solara/cdn/{plotly_spec()}/plotly.min.js" if importlib.util.find_spec("plotly") else ""
"""Where a tab loads plotly.js from: this server's asset cache (filled by `ensure`)."""


def cache_dir() -> Path:
    """Where the assets live: $AIDSIM_ASSETS_DIR, else `<python environment>/share/aidsim/solara-assets`
    (a virtual environment built by `make` keeps its own; `make clean` removes it with the venv)."""
    return Path(os.environ.get(ENV) or Path(sys.prefix) / "share" / "aidsim" / "solara-assets").resolve()


def required_specs() -> list[str]:
    """The npm specs (name@version) of NEEDED, as the installed solara writes them in its page."""
    spec = importlib.util.find_spec("solara")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("solara is not installed: pip install -e '.[app]'")
    root = Path(next(iter(spec.submodule_search_locations)))
    found: set[str] = set()
    for path in [*root.glob("server/templates/*.j2"), root / "server" / "settings.py"]:
        text = re.sub(r"<!--.*?-->", "", path.read_text(encoding="utf-8"), flags=re.S)  # skip commented-out links
        found.update(m.group(1) for pat in _PATTERNS for m in pat.finditer(text))
    specs = sorted(s for s in found if s.startswith(NEEDED))
    missing = [n for n in NEEDED if not any(s.startswith(n) for s in specs)]
    if missing:  # a solara upgrade moved things: say so rather than serve a blank page
        raise ConfigError(f"solara {root} no longer names {missing} in its page template; update aidsim.app.assets.NEEDED")
    return specs


def _fetch(spec: str, target: Path) -> None:
    """`npm pack` one package and unpack it at `target`, atomically (a half-filled folder never looks complete)."""
    npm = shutil.which("npm")
    if npm is None:
        raise ConfigError(f"npm not found: needed once to fetch {spec} for the page (apt-get install npm, or `make browser`)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tmp-") as tmp:
        done = subprocess.run([npm, "pack", spec, "--json", "--pack-destination", tmp], cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            raise ConfigError(f"npm pack {spec} failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
        tgz = Path(tmp) / json.loads(done.stdout)[0]["filename"]
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tgz) as tf:
            for member in tf.getmembers():
                top, _, rest = member.name.partition("/")  # drop the tarball's top folder ("package/")
                if rest:
                    member.name = rest
                    tf.extract(member, unpacked, filter="data")
        os.replace(unpacked, target)


def packaged_dir() -> Path:
    """Where the `solara-assets` package puts the npm packages it ships (its wheel's shared data)."""
    return Path(sys.prefix) / "share" / "solara" / "cdn"


def _link(spec: str, target: Path) -> bool:
    """Link `target` to `spec` as solara-assets ships it; False when it does not ship that exact spec."""
    source = packaged_dir() / spec
    if not (source / "package.json").is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(source, target, target_is_directory=True)
    except OSError:  # no symlinks here (Windows without the right): a copy serves as well
        shutil.copytree(source, target)
    return True


def ensure(verbose: bool = True) -> Path:
    """Fill the cache with what the installed solara asks for (a no-op once filled): from the
    solara-assets package when it holds the spec, else with npm; return the cache's path."""
    cache = cache_dir()
    for spec in required_specs():
        target = cache / spec
        if (target / "package.json").is_file() or _link(spec, target):
            continue
        if verbose:
            print(f"aidsim: fetching page asset {spec} (once) into {cache}", file=sys.stderr)
        _fetch(spec, target)
    plotly = cache / plotly_spec() / "plotly.min.js"
    if not plotly.is_file():
        plotly.parent.mkdir(parents=True, exist_ok=True)
        tmp = plotly.with_suffix(".tmp")
        shutil.copyfile(_plotly_js(), tmp)
        os.replace(tmp, plotly)
    return cache


def _refused(url: str) -> bytes:
    raise FileNotFoundError(f"{url}: not in the page's asset cache (this server fetches nothing)")


def refuse_cdn_fetches() -> None:
    """Make Solara's asset proxy answer 404 for a file missing from the cache instead of fetching
    it from a CDN: no request a client makes (a made-up file name) can make the server reach out,
    and none waits for a fetch's retries. Call in the server process before it serves a page."""
    from solara.server import cdn_helper

    cdn_helper.fetch_from_cdn = _refused  # the proxy looks it up at each request (cdn_helper.get_path)


def main() -> None:
    """`python -m aidsim.app.assets`: fill the cache and print where it is."""
    from aidsim.model.errors import EXIT_BAD_INPUT

    try:
        print(ensure())
    except ConfigError as exc:
        print(f"aidsim-assets: error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
