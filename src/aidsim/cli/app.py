"""`aidsim-app`: serve the classroom page."""

from __future__ import annotations

import errno
import os
import socket
import sys

NO_CDN = "http://127.0.0.1:9/"
"""Where Solara's asset proxy fetches files missing from the cache: the discard port, closed."""


def _address_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, in one line; None if it can."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: a just-closed port is free
        try:
            s.bind((host, port))
        except socket.gaierror:
            return f"--host {host}: not an address of this computer; use 127.0.0.1 or 0.0.0.0"
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"--port {port}: already in use on {host}; pick another, e.g. --port {port + 1}"
            return f"--host {host} --port {port}: cannot listen there ({exc.strerror})"
    return None


def main(argv: list[str] | None = None) -> None:
    """Start the classroom page; print its address."""
    from aidsim.app import assets
    from aidsim.cli.guard import one_line_parser
    from aidsim.model.errors import EXIT_BAD_INPUT, ConfigError

    ap = one_line_parser("aidsim-app", "The aidsim classroom page, served from this computer.")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: reachable from the classroom network)")
    ap.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    args = ap.parse_args(argv)

    def fail(msg: str) -> None:
        print(f"aidsim-app: error: {msg}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)

    if not 1 <= args.port <= 65535:
        fail(f"--port {args.port}: out of range; use 1 to 65535")
    problem = _address_problem(args.host, args.port)
    if problem:
        fail(problem)
    try:
        cache = assets.ensure()
    except ConfigError as exc:
        fail(str(exc))
    # Solara's proxy answers /_solara/cdn/<file> from the cache and fetches a missing file from a
    # public CDN: the page refuses those fetches (aidsim.app.assets.refuse_cdn_fetches), and the
    # CDN is a closed local port besides, so no request a client makes (a missing or made-up file
    # name) can make this server reach the internet. --no-check-version: solara run would ask PyPI.
    env = {
        **os.environ,
        "SOLARA_ASSETS_PROXY_CACHE_DIR": str(cache),
        "SOLARA_ASSETS_CDN": NO_CDN,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false",
        # reacton's fast renderer (opt-in, fuzz-tested by reacton against the default): a click
        # re-renders only the part of the page whose state changed instead of walking the whole
        # page, about 20 -> 2 ms of server time per click, which a class on one server shares
        "REACTON_FAST": "1",
    }
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"aidsim-app: open http://{shown}:{args.port}/ in a browser (Ctrl+C stops the server)", flush=True)
    if shown != args.host:
        print(f"aidsim-app: students open http://<this computer's address>:{args.port}/ (`hostname -I` shows the address)", flush=True)
    command = [sys.executable, "-m", "solara", "run", "aidsim.app.page", "--host", args.host, "--port", str(args.port)]
    command += ["--production", "--no-open", "--no-check-version"]
    os.execve(sys.executable, command, env)  # the server replaces this process: Ctrl+C and signals reach it directly


if __name__ == "__main__":
    main()
