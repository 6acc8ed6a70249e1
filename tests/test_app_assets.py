"""The page's front-end cache: the right packages for the installed solara, filled once, clear errors."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the `app` extra is not installed")

from aidsim.app import assets  # noqa: E402
from aidsim.model.errors import ConfigError  # noqa: E402


def test_specs_are_the_ones_solaras_page_names():
    specs = assets.required_specs()
    assert [next(s for s in specs if s.startswith(n)) for n in assets.NEEDED]  # one per needed package
    template = Path(next(iter(importlib.util.find_spec("solara").submodule_search_locations))) / "server" / "templates" / "solara.html.j2"
    text = template.read_text()
    vuetify = next(s for s in specs if s.startswith("@widgetti/solara-vuetify-app@"))
    assert f"/{vuetify}/" in text


def test_cache_dir_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV, str(tmp_path))
    assert assets.cache_dir() == tmp_path.resolve()


def test_filled_cache_is_not_fetched_again(monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV, str(tmp_path))
    for spec in assets.required_specs():
        (tmp_path / spec).mkdir(parents=True)
        (tmp_path / spec / "package.json").write_text("{}")
    monkeypatch.setattr(assets.shutil, "which", lambda name: pytest.fail("npm called for a filled cache"))
    assert assets.ensure(verbose=False) == tmp_path.resolve()


def test_missing_npm_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV, str(tmp_path))
    monkeypatch.setattr(assets, "packaged_dir", lambda: tmp_path / "no-solara-assets")
    monkeypatch.setattr(assets.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match=r"^npm not found: .*apt-get install npm") as err:
        assets.ensure(verbose=False)
    assert "\n" not in str(err.value)


def test_solara_assets_ships_the_specs_solaras_page_names():
    """The pinned solara-assets holds every npm package, at the exact version, that the pinned solara asks for."""
    for spec in assets.required_specs():
        name, _, version = spec.rpartition("@")
        package = json.loads((assets.packaged_dir() / spec / "package.json").read_text())
        assert (package["name"], package["version"]) == (name, version), spec


def test_cache_is_filled_from_solara_assets_without_npm(monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV, str(tmp_path))
    monkeypatch.setattr(assets.shutil, "which", lambda name: pytest.fail(f"{name} called although solara-assets ships the files"))
    assert assets.ensure(verbose=False) == tmp_path.resolve()
    for spec in assets.required_specs():
        assert (tmp_path / spec / "package.json").is_file()
    assert (tmp_path / assets.plotly_spec() / "plotly.min.js").is_file()


class _Trap:
    """A stand-in CDN on 127.0.0.1 that counts the connections made to it (there must be none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def test_a_missing_page_file_is_a_quick_404_and_never_a_fetch(tmp_path):
    """The page's server, its CDN pointed at a local trap: requests for files the cache lacks get a
    404 at once and the trap sees no connection (no request can make the server fetch anything)."""
    cache = assets.ensure(verbose=False)
    trap = _Trap()
    port = assets.free_port()
    env = {**os.environ, "SOLARA_ASSETS_PROXY_CACHE_DIR": str(cache), "SOLARA_ASSETS_CDN": trap.url, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    command = [sys.executable, "-m", "solara", "run", "aidsim.app.page", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen([*command, "--production", "--no-open", "--no-check-version"], env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        problem = assets.wait_until_serving(server, base + "/", 120)
        assert problem is None, f"{problem}: {log.read_text()[-2000:]}"
        missing = ["/_solara/cdn/made-up-package@1.0.0/index.js", "/_solara/cdn/made-up-package", "/_solara/cdn/@widgetti/solara-vuetify-app@10.1.1/nope.js"]
        missing += ["/_solara/cdn/requirejs@9.9.9/require.js", "/static/made-up.js", "/_solara/cdn/..%2F..%2Fetc%2Fpasswd"]
        for path in missing:
            t0 = time.monotonic()
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(base + path, timeout=10)
            assert err.value.code == 404, path
            assert time.monotonic() - t0 < 1.0, f"{path}: slow 404 (a fetch with retries?)"
        with urllib.request.urlopen(base + "/_solara/cdn/requirejs@2.3.6/require.js", timeout=10) as r:
            assert r.status == 200  # what the cache holds is served
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        trap.close()
    assert trap.connections == 0, "the server tried to fetch a page file from its CDN"
    assert "Could not load URL" not in log.read_text()
