"""A class on one laptop: N student sessions against ONE `aidsim-app` server on 127.0.0.1.

    .venv/bin/python experiments/benchmark_classroom.py                        # 30 websocket sessions
    .venv/bin/python experiments/benchmark_classroom.py --tabs 3               # a light run while developing
    .venv/bin/python experiments/benchmark_classroom.py --clients browser --tabs 5   # real browser tabs

Starts the server itself (on a free port), runs a lone session first (the reference), then N
sessions at once, and drives them as a class does: everyone presses Play at the fast speed and
pauses after --days days, then Run to the end, then the Many worlds tab, then the debrief download.
Two drivers play the students (--clients):

- `websocket` (the default): each session is a client that speaks the page's own protocol to the
  server, as Solara's JavaScript does: it loads the page and the files it names over HTTP, opens a
  virtual kernel on `/jupyter/api/kernels/<id>/channels`, runs the app through the
  `solara.control` comm, keeps the `jupyter.widget` state the server sends, and clicks by sending
  the comm messages a browser sends (a button's `click` event, a select's or the tabs' `v_model`,
  the download's `request_download`). It draws nothing (no Vue, no plotly.js, no fonts), so its
  times end when the server's message arrives, before a browser would have drawn it, and the
  machine is left to the server: on a 2-core laptop 30 browsers cannot even load the page, while
  30 of these clients cost a fraction of a core. That is why it is the default: it is the driver
  that can show the server's floors here.
- `browser`: N tabs in one headless Chromium (Debian's `chromium`, as the browser tests), the page
  drawn in full; end to end, but on 2 cores the browsers take most of the CPU.

Prints, per phase, wall time, the server's own CPU seconds and the clients' CPU seconds (both read
from /proc, so the two are counted apart), and the issue's figures:

- Play: each session's time for --days days against the lone session's (ratio; floor 1.5x), read
  where a student reads it: the day counter reaching --days (in the page, or in the widget state
  the websocket client receives); the server's own record of each Play ("aidsim-app: played N days
  in S s" in results/benchmark_classroom_server.log) is summarised too; and whether Pause stops
  Play (the Play button shows Play again), after how long, and on which day;
- Many worlds: seconds from opening the tab to its bars, 95th percentile (floor 1 s), and the
  compute time the page reports. The page builds the tab with the page (it is ready before it is
  opened), so with websocket clients the time runs until the server has handled the click;
- debriefs downloaded of N: a browser's saved download, or for a websocket session the zip's bytes
  as the server sends them to the page (the download button's widget gets them in its `bytes`
  state), checked to be a valid zip.

Bounded: traffic only to the server it starts on 127.0.0.1, at most 60 sessions, every wait has a
timeout (--timeout per step), the whole run stops after --budget seconds, and the server and the
clients are stopped at the end, whatever happened.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, NamedTuple

from aidsim.app import assets

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    *assets.CHROMIUM_ARGS,
    # thirty tabs in one browser: keep the hidden ones running as a student's own screen would
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
SPEED = "fast (0.2 s a day)"
LAST_DAY = 60  # the default preset's (amnok_2024), where the page opens
DAY_JS = "d => { const m = (document.querySelector('.day-counter')?.textContent || '').match(/Day (\\d+)/); return m && +m[1] >= d; }"
READY_JS = """() => {
  const button = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Run to the end');
  const m = (document.querySelector('.day-counter')?.textContent || '').match(/Day (\\d+) of (\\d+)/);
  return button && !button.disabled ? 'run' : (m && +m[1] >= +m[2] ? 'end' : false);
}"""
DAY = re.compile(r"Day (\d+) of (\d+)")


class Played(NamedTuple):
    """One session's Play: seconds from the click to day --days on its screen, seconds from there
    (the Pause click) to the play thread's stop (nan when the run had reached its last day before
    Pause could be pressed), and the day it stopped on."""

    seconds: float
    pause: float
    stopped_day: int


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children that have exited (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _clients_cpu(server_pid: int) -> float:
    """CPU seconds of this process and every process under it but the server: the clients (the
    websocket sessions run in this process; Playwright's driver and Chromium run under it)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # a process that ended while we looked
        children.setdefault(ppid, []).append(int(stat.parent.name))
    total, todo = 0.0, [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid == server_pid:
            continue
        try:
            total += _cpu_seconds(pid)
        except OSError:
            continue
        todo += children.get(pid, [])
    return total


def _p95(xs: list[float]) -> float:
    return sorted(xs)[max(0, round(0.95 * len(xs)) - 1)] if xs else float("nan")


class Server:
    """`aidsim-app` on a free port of 127.0.0.1, stopped on exit."""

    def __init__(self) -> None:
        self.port = assets.free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = open(ROOT / "results" / "benchmark_classroom_server.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen([sys.executable, "-m", "aidsim.cli.app", "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        problem = assets.wait_until_serving(self.proc, self.url, 120)
        if problem:
            self.stop()
            raise SystemExit(f"aidsim-app: {problem}; see {self.log.name}")

    def cpu(self) -> float:
        return _cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Phase:
    """Wall time, server CPU and clients' CPU of one phase, printed on exit and kept in `done`."""

    done: list[Phase] = []

    def __init__(self, server: Server, name: str):
        self.server, self.name = server, name

    def _clients(self) -> float:
        return _clients_cpu(self.server.proc.pid)

    def __enter__(self):
        self.t0, self.c0, self.k0 = time.perf_counter(), self.server.cpu(), self._clients()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.t0, self.server.cpu() - self.c0
        self.clients = self._clients() - self.k0
        Phase.done.append(self)
        share = self.cpu / self.wall
        print(f"  {self.name}: {self.wall:.1f} s wall, server CPU {self.cpu:.1f} s ({share:.0%} of one core), clients CPU {self.clients:.1f} s", flush=True)


# -- the browser driver --------------------------------------------------------------------------


class Browsers:
    """--clients browser: each session a tab (its own browser context) of one headless Chromium."""

    def __init__(self, timeout: float):
        self.timeout = timeout

    async def __aenter__(self):
        from playwright.async_api import async_playwright  # only this driver needs Playwright

        chromium = os.environ.get("AIDSIM_CHROMIUM") or shutil.which("chromium")
        if chromium is None:
            raise SystemExit("no chromium on PATH (apt-get install chromium), or use --clients websocket")
        self._pw = await async_playwright().start()
        try:
            self.browser = await self._pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        except BaseException:
            await self._pw.stop()
            raise
        return self

    async def __aexit__(self, *exc):
        try:
            await asyncio.wait_for(self.browser.close(), 60)
        finally:
            await self._pw.stop()

    async def open(self, url: str):
        context = await self.browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
        page = await context.new_page()
        page.set_default_timeout(self.timeout * 1000)
        await page.goto(url)
        await page.locator(".need_figure .main-svg").first.wait_for()
        return page

    async def close(self, page) -> None:
        await page.context.close()

    async def choose_speed(self, page):
        """Set Play's speed in a tab; returns the tab, ready to play."""
        await page.get_by_label("Play speed").click(force=True)
        await page.get_by_role("option", name=SPEED, exact=True).click()
        await page.keyboard.press("Escape")
        return page

    async def play(self, page, days: int) -> Played:
        """Play from day 0 until the day counter shows `days`, then Pause and wait for Play to stop."""
        t0 = time.perf_counter()
        await page.get_by_role("button", name="Play", exact=True).click()
        await page.wait_for_function(DAY_JS, arg=days, polling=100, timeout=self.timeout * 1000)
        t1 = time.perf_counter()
        pause = page.get_by_role("button", name="Pause", exact=True)
        clicked = await pause.count() > 0  # none when the run reached its last day first
        if clicked:
            await pause.click(force=True)  # a busy page never looks "stable"
        await page.get_by_role("button", name="Play", exact=True).wait_for(timeout=self.timeout * 1000)
        stopped = time.perf_counter() - t1
        found = DAY.search(await page.locator(".day-counter").inner_text())
        return Played(t1 - t0, stopped if clicked else float("nan"), int(found.group(1)) if found else -1)

    async def to_end(self, page) -> float | None:
        """Seconds from the click to the last day; None when the world was at its last day already."""
        # "Run to the end" is disabled until the play thread has stopped (a click on it then does
        # nothing) and for good once the world is at its last day
        state = await page.wait_for_function(READY_JS, polling=100, timeout=self.timeout * 1000)
        if await state.json_value() == "end":
            return None
        t0 = time.perf_counter()
        await page.get_by_role("button", name="Run to the end", exact=True).click(force=True)
        await page.wait_for_function(DAY_JS, arg=LAST_DAY, polling=100, timeout=self.timeout * 1000)
        return time.perf_counter() - t0

    async def many_worlds(self, page) -> tuple[float, float]:
        """(seconds from opening the tab to the bars, the compute seconds the page reports)."""
        t0 = time.perf_counter()
        await page.get_by_role("tab", name="Many worlds").click()
        await page.locator(".shares_figure .main-svg").first.wait_for(timeout=self.timeout * 1000)
        wall = time.perf_counter() - t0
        text = await page.locator(".many-worlds-time").inner_text(timeout=self.timeout * 1000)
        found = re.search(r"in ([\d.]+) s", text)
        return wall, float(found.group(1)) if found else float("nan")

    async def debrief(self, page) -> tuple[bool, float]:
        """(the zip was saved, seconds from the click to the file)."""
        await page.get_by_role("tab", name="Debrief").click()
        t0 = time.perf_counter()
        async with page.expect_download(timeout=self.timeout * 1000) as info:
            await page.get_by_role("button", name="Download debrief (zip)", exact=True).click()
        download = await info.value
        path = await download.path()
        return path is not None and download.suggested_filename.endswith(".zip") and zipfile.is_zipfile(path), time.perf_counter() - t0


# -- the websocket driver ------------------------------------------------------------------------


def _unframe(frame: bytes) -> dict:
    """A binary Jupyter message as Solara's server frames it (kernel.serialize_binary_message):
    a count n, n offsets (32-bit, big-endian), the JSON message, then its n - 1 buffers."""
    (n,) = struct.unpack("!I", frame[:4])
    offsets = [*struct.unpack(f"!{n}I", frame[4 : 4 * (n + 1)]), len(frame)]
    parts = [frame[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    msg = json.loads(parts[0])
    msg["buffers"] = parts[1:]
    return msg


def _with_buffers(state: dict, paths: list, buffers: list) -> dict:
    """Widget state with its binary values put back where `buffer_paths` says (the zip's bytes)."""
    for path, buf in zip(paths, buffers, strict=False):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = bytes(buf)
    return state


class Session:
    """One student's page over Solara's websocket, as the page's JavaScript speaks it. Keeps the
    state of every widget the server opened (comm id -> state); a wait ends at the time the message
    that met its condition was read, not when the waiting step next gets the event loop (30
    sessions share it)."""

    def __init__(self, url: str, timeout: float, pool: ThreadPoolExecutor):
        self.url, self.timeout, self.pool = url.rstrip("/"), timeout, pool
        self.kernel_id, self.page_id, self.control_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        self.widgets: dict[str, dict] = {}
        self.finished = False  # the app's first render is complete (`finished` on solara.control)
        self.failure: BaseException | None = None
        self.bytes_fetched = 0
        self.pending: set[str] = set()  # ids of our messages the kernel has not finished handling
        self._waiters: list[tuple[Callable[[], Any], asyncio.Future]] = []
        self._cookie = ""
        self.ws: Any = None
        self._reader: asyncio.Task | None = None

    # -- HTTP, as the browser's own requests --
    def _http(self, path: str, method: str = "GET") -> bytes:
        headers = {"Accept-Encoding": "gzip"} | ({"Cookie": self._cookie} if self._cookie else {})
        with urllib.request.urlopen(urllib.request.Request(self.url + path, method=method, headers=headers), timeout=self.timeout) as response:
            if path == "/":  # the session cookie the server hands the page, sent back on the websocket
                cookie: SimpleCookie = SimpleCookie()
                for line in response.headers.get_all("Set-Cookie") or []:
                    cookie.load(line)
                self._cookie = "; ".join(f"{k}={v.value}" for k, v in cookie.items())
            body = response.read()
            gzipped = response.headers.get("Content-Encoding") == "gzip"
        self.bytes_fetched += len(body)
        return gzip.decompress(body) if gzipped else body

    async def _get(self, *paths: str) -> list[bytes]:
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(self.pool, self._http, p) for p in paths))

    # -- the kernel's messages --
    async def _send(self, msg_type: str, content: dict) -> None:
        msg_id = str(uuid.uuid4())
        self.pending.add(msg_id)
        header = {
            "date": datetime.now(UTC).isoformat(),
            "msg_id": msg_id,
            "msg_type": msg_type,
            "session": self.page_id,
            "username": "",
            "version": "5.2",
        }
        await self.ws.send(json.dumps({"buffers": [], "channel": "shell", "content": content, "header": header, "metadata": {}, "parent_header": {}}))

    async def _comm(self, comm_id: str, data: dict) -> None:
        await self._send("comm_msg", {"comm_id": comm_id, "data": data})

    async def click(self, comm_id: str) -> None:
        """What ipyvue's page sends for a click on a button (the server ignores the event's details)."""
        await self._comm(comm_id, {"method": "custom", "content": {"event": "click", "data": {}}})

    async def set(self, comm_id: str, **state: Any) -> None:
        """What the page sends when a student changes a widget (a menu, a tab)."""
        await self._comm(comm_id, {"method": "update", "state": state, "buffer_paths": []})

    def _apply(self, msg: dict) -> None:
        kind, content = msg["header"]["msg_type"], msg.get("content", {})
        comm_id, data = content.get("comm_id"), content.get("data", {})
        if kind == "comm_open":
            self.widgets[comm_id] = _with_buffers(data["state"], data.get("buffer_paths", []), msg.get("buffers", []))
        elif kind == "comm_msg" and comm_id == self.control_id:
            self.finished = self.finished or data.get("method") == "finished"
        elif kind == "comm_msg" and data.get("method") in ("update", "echo_update"):
            self.widgets.setdefault(comm_id, {}).update(_with_buffers(data["state"], data.get("buffer_paths", []), msg.get("buffers", [])))
        elif kind == "comm_close":
            self.widgets.pop(comm_id, None)
        elif kind == "status" and content.get("execution_state") == "idle":  # the kernel is done with that message
            self.pending.discard(msg.get("parent_header", {}).get("msg_id", ""))

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                self._apply(_unframe(frame) if isinstance(frame, bytes) else json.loads(frame))
                now = time.perf_counter()
                for predicate, future in self._waiters:
                    if not future.done() and (value := predicate()):
                        future.set_result((value, now))
            self.failure = ConnectionError("the server closed the websocket")
        except Exception as exc:  # noqa: BLE001 - every waiter gets it
            self.failure = exc
        for _, future in self._waiters:
            if not future.done():
                future.set_exception(self.failure)

    async def until(self, predicate: Callable[[], Any], what: str) -> tuple[Any, float]:
        """(predicate's value, perf_counter when the message that made it true arrived)."""
        if value := predicate():
            return value, time.perf_counter()
        if self.failure is not None:
            raise self.failure
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            raise TimeoutError(f"{what}: not within {self.timeout:g} s") from None
        finally:
            self._waiters.remove(waiter)

    async def settle(self) -> None:
        """Wait until the kernel has handled every message this page sent (its `idle` status for
        each): a step's work then stays in its own phase."""
        await self.until(lambda: not self.pending, "the page to settle")

    # -- the page's widgets --
    def find(self, model: str, text: str | None = None, css: str | None = None, label: str | None = None) -> str | None:
        """The comm id of the first widget of `model` (e.g. "BtnModel") with that text among its
        children, that CSS class, or that label."""
        for comm_id, s in self.widgets.items():
            if (
                s.get("_model_name") == model
                and (text is None or text in (s.get("children") or []))
                and (css is None or css in (s.get("class_") or "").split())
                and (label is None or s.get("label") == label)
            ):
                return comm_id
        return None

    def child(self, comm_id: str | None, i: int = 0) -> str | None:
        kids = self.widgets.get(comm_id or "", {}).get("children") or []
        return kids[i].removeprefix("IPY_MODEL_") if len(kids) > i and isinstance(kids[i], str) else None

    def day(self) -> tuple[int, int] | None:
        """(day, last day) on the day counter."""
        counter = self.widgets.get(self.find("HtmlModel", css="day-counter") or "", {})
        found = DAY.search("".join(c for c in counter.get("children", []) if isinstance(c, str)))
        return (int(found.group(1)), int(found.group(2))) if found else None

    def figure(self, css: str) -> dict | None:
        """The Plotly spec of the figure with CSS class `css`, once its widget has reached this
        client: the figure's column holds an Output whose display names the PlotlyView."""
        output = self.widgets.get(self.child(self.find("SheetModel", css=css)) or "", {})
        for shown in output.get("outputs", []):
            view = shown.get("data", {}).get("application/vnd.jupyter.widget-view+json", {})
            spec = self.widgets.get(view.get("model_id", ""), {}).get("spec")
            if spec:
                return spec
        return None

    def button(self, text: str) -> str | None:
        """The comm id of the button showing `text`, while a student can press it (not disabled)."""
        found = self.find("BtnModel", text=text)
        return found if found and not self.widgets[found].get("disabled") else None

    async def tab(self, name: str) -> None:
        """Open one of the page's tabs: the tabs widget's `v_model` becomes the tab's index."""
        tab = self.find("TabModel", text=name)
        tabs = next((c for c, s in self.widgets.items() if s.get("_model_name") == "TabsModel" and f"IPY_MODEL_{tab}" in s.get("children", [])), None)
        if tab is None or tabs is None:
            raise LookupError(f"no {name!r} tab on the page")
        await self.set(tabs, v_model=self.widgets[tabs]["children"].index(f"IPY_MODEL_{tab}"))

    # -- a student's session --
    async def open(self) -> None:
        from websockets.asyncio.client import connect

        page = (await self._get("/"))[0].decode()
        # what the page names and a browser fetches before it can run: the CSS and JavaScript it
        # links, and the widget modules its require.js config lists (fonts and icons are left out)
        linked = re.findall(r'(?:href|src)="(/[^"]+\.(?:css|js)(?:\?[^"]*)?)"', page)
        modules = {f"/jupyter/{m.removesuffix('.js')}.js" for m in re.findall(r"nbextensions/[\w-]+/[\w.-]+", page)}
        await self._get(*dict.fromkeys(linked), *sorted(modules))
        uri = f"ws{self.url.removeprefix('http')}/jupyter/api/kernels/{self.kernel_id}/channels?session_id={self.page_id}"
        # a browser sends no pings and negotiates permessage-deflate (websockets' default too)
        self.ws = await connect(uri, additional_headers={"Cookie": self._cookie}, open_timeout=self.timeout, ping_interval=None, max_size=2**28, max_queue=1024)
        self._reader = asyncio.create_task(self._read())
        await self._send("kernel_info_request", {})
        await self._send("comm_open", {"comm_id": self.control_id, "target_name": "solara.control", "data": {}})
        run = {"path": "/", "dark": False, "themes": {"light": {}, "dark": {}}, "appName": None}
        await self._comm(self.control_id, {"method": "run", "args": run})
        await self.until(lambda: self.finished and self.figure("need_figure"), "the page")
        # the figures' own script, which the browser loads before it draws the first one
        src = next((s["src"] for s in self.widgets.values() if s.get("_anywidget_id") and s.get("src")), None)
        if src and src.startswith("/"):
            await self._get(src)

    async def close(self) -> None:
        """As a closing tab: the page's unload beacon to the close route, then the socket closes."""
        try:
            await asyncio.get_running_loop().run_in_executor(self.pool, self._http, f"/_solara/api/close/{self.kernel_id}?session_id={self.page_id}", "POST")
        finally:
            if self.ws is not None:
                await asyncio.wait_for(self.ws.close(), 30)
            if self._reader is not None:
                self._reader.cancel()


class Websockets:
    """--clients websocket: each session a `Session`, all in this process's event loop."""

    def __init__(self, timeout: float, tabs: int):
        self.timeout = timeout
        self.sessions: list[Session] = []
        self.pool = ThreadPoolExecutor(max_workers=min(64, 4 * tabs + 4))  # a browser fetches a page's files ~6 at a time

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        try:
            await asyncio.gather(*(s.close() for s in self.sessions), return_exceptions=True)
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def open(self, url: str) -> Session:
        session = Session(url, self.timeout, self.pool)
        self.sessions.append(session)
        await session.open()
        return session

    async def close(self, s: Session) -> None:
        self.sessions.remove(s)
        await s.close()

    async def choose_speed(self, s: Session) -> Session:
        menu = s.find("SelectModel", label="Play speed")
        if menu is None:
            raise LookupError("no Play speed menu")
        await s.set(menu, v_model=SPEED)
        await s.until(lambda: s.widgets[menu].get("v_model") == SPEED, "the play speed")
        return s

    async def play(self, s: Session, days: int) -> Played:
        """Play from day 0 until the day counter the client holds shows `days`, then Pause (the same
        button) and wait until it shows Play again: the server's play thread has stopped."""
        button, _ = await s.until(lambda: s.button("Play"), "the Play button")
        t0 = time.perf_counter()
        await s.click(button)
        _, reached = await s.until(lambda: (s.day() or (0, 0))[0] >= days, f"day {days}")
        # the page may replace the button's widget while it re-renders: find it by its text each time
        pause = s.find("BtnModel", text="Pause")  # none when the run reached its last day first
        clicked = pause is not None
        if pause is not None:
            await s.click(pause)
        # stopped, and the Pause click handled: one handled late (after the last day) starts Play
        # again for nothing, and its work would fall in the next phase
        _, stopped = await s.until(lambda: s.find("BtnModel", text="Play") and not s.pending, "Play to stop")
        return Played(reached - t0, stopped - reached if clicked else float("nan"), (s.day() or (-1, 0))[0])

    async def to_end(self, s: Session) -> float | None:
        """Seconds from the click to the last day; None when the world was at its last day already."""

        def ready() -> str | None:
            at = s.day()
            return "run" if s.button("Run to the end") else "end" if at and at[0] >= at[1] else None

        await s.settle()
        state, _ = await s.until(ready, "Run to the end enabled (play stopped)")
        if state == "end":
            return None
        t0 = time.perf_counter()
        await s.click(s.find("BtnModel", text="Run to the end") or "")
        _, reached = await s.until(lambda: (d := s.day()) and d[0] >= d[1], "the last day")
        return reached - t0

    async def many_worlds(self, s: Session) -> tuple[float, float]:
        """(seconds from opening the tab to the bars reaching the client and the server having
        handled the click, the compute seconds the page reports). The page sends the bars with
        the page itself, so the wait is for the server's answer to the click."""
        await s.settle()
        t0 = time.perf_counter()
        await s.tab("Many worlds")
        await s.settle()

        def bars() -> float | None:
            spec, note = s.figure("shares_figure"), s.widgets.get(s.find("HtmlModel", css="many-worlds-time") or "")
            if not (spec and any(t.get("type") == "bar" for t in spec.get("data", [])) and note):
                return None
            found = re.search(r"in ([\d.]+) s", "".join(note.get("children", [])))
            return float(found.group(1)) if found else float("nan")

        compute, reached = await s.until(bars, "the many-worlds bars")
        return reached - t0, compute

    async def debrief(self, s: Session) -> tuple[bool, float]:
        """(a valid zip reached the client, seconds from the click to its bytes). The download
        button asks the server for the file (`request_download`); the server answers with the zip
        in the widget's `bytes` (a binary buffer), which the page turns into the saved file."""
        await s.settle()
        await s.tab("Debrief")
        download, _ = await s.until(lambda: _download(s), "the download button")
        t0 = time.perf_counter()
        button = s.child(download)
        if button:
            await s.click(button)  # the page sends both: the button's click and the request
        await s.set(download, request_download=True)
        data, reached = await s.until(lambda: s.widgets.get(download, {}).get("bytes"), "the debrief's bytes")
        await s.set(download, request_download=False)  # as the page does once it has saved the file
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                ok = z.testzip() is None and "settings.json" in z.namelist()
        except zipfile.BadZipFile:
            ok = False
        return ok, reached - t0


def _download(s: Session) -> str | None:
    """The debrief's download widget (solara.FileDownload: a template with `request_download`)."""
    return next((c for c, w in s.widgets.items() if "request_download" in w and str(w.get("filename", "")).endswith(".zip")), None)


# -- the benchmark -------------------------------------------------------------------------------


async def gather(label: str, coros, budget_end: float):
    """Run one step in every session at once; failures (timeouts) are counted, not raised."""
    left = max(1.0, budget_end - time.monotonic())
    try:
        results = await asyncio.wait_for(asyncio.gather(*coros, return_exceptions=True), left)
    except TimeoutError:
        print(f"  {label}: the run's time budget ran out", flush=True)
        return []
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        print(f"  {label}: {len(failed)} of {len(results)} sessions failed, e.g. {' | '.join(str(failed[0]).splitlines()[:4])[:400]}", flush=True)
    return [r for r in results if not isinstance(r, BaseException)]


async def main_async(args) -> None:
    (ROOT / "results").mkdir(exist_ok=True)
    budget_end = time.monotonic() + args.budget
    server = Server()
    print(
        f"server {server.url} (pid {server.proc.pid}); {args.tabs} {args.clients} sessions; Play {args.days} days at {SPEED!r}; {os.cpu_count()} cores",
        flush=True,
    )
    lone = Played(float("nan"), float("nan"), -1)
    lone_many = lone_compute = float("nan")
    plays: list[Played] = []
    ends: list[float | None] = []
    many: list[tuple[float, float]] = []
    zips: list[tuple[bool, float]] = []
    crowd = len(Phase.done)
    try:
        # the backstop: each step has its own timeout and `gather` stops at budget_end; this ends
        # whatever still runs a minute after, and the driver and the server stop all the same
        async with asyncio.timeout(args.budget + 60):
            driver = Browsers(args.timeout) if args.clients == "browser" else Websockets(args.timeout, args.tabs)
            async with driver:
                print("lone session:", flush=True)
                with Phase(server, "open"):
                    lone_tab = await asyncio.wait_for(driver.open(server.url), args.timeout)
                await asyncio.wait_for(driver.choose_speed(lone_tab), args.timeout)
                with Phase(server, "play"):
                    lone = await driver.play(lone_tab, args.days)
                lone_many, lone_compute = await driver.many_worlds(lone_tab)
                print(
                    f"  Play {args.days} days: {lone.seconds:.1f} s (sleeps alone: {0.2 * args.days:.1f} s), stopped on day {lone.stopped_day}; "
                    f"many worlds {lone_many:.2f} s (compute {lone_compute:.2f} s)"
                )
                await asyncio.wait_for(driver.close(lone_tab), args.timeout)

                print(f"{args.tabs} sessions:", flush=True)
                crowd = len(Phase.done)
                with Phase(server, "open"):
                    tabs = await gather("open", [driver.open(server.url) for _ in range(args.tabs)], budget_end)
                print(f"  {len(tabs)} of {args.tabs} sessions loaded", flush=True)
                ready = []
                for tab in tabs:  # one menu at a time, before the clock starts; a session that fails is left out
                    ready += await gather("play speed", [driver.choose_speed(tab)], budget_end)
                if ready:
                    with Phase(server, "play"):
                        plays = await gather("play", [driver.play(t, args.days) for t in ready], budget_end)
                    with Phase(server, "run to the end"):
                        ends = await gather("run to the end", [driver.to_end(t) for t in ready], budget_end)
                    with Phase(server, "many worlds"):
                        many = await gather("many worlds", [driver.many_worlds(t) for t in ready], budget_end)
                    with Phase(server, "debrief"):
                        zips = await gather("debrief", [driver.debrief(t) for t in ready], budget_end)
                if isinstance(driver, Websockets) and driver.sessions:
                    fetched = statistics.median(s.bytes_fetched for s in driver.sessions)
                    print(f"  HTTP per session (the page and the files it names, as sent): {fetched / 1e6:.1f} MB", flush=True)
    except TimeoutError:
        print(f"the run's time budget ({args.budget:g} s) ran out", flush=True)
    finally:
        server.stop()

    print("\nresults")
    if plays:
        seconds = [p.seconds for p in plays]
        ratios = [t / lone.seconds for t in seconds]
        print(
            f"  Play {args.days} days: lone {lone.seconds:.1f} s; {len(plays)} of {args.tabs} sessions: "
            f"median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s"
        )
        print(
            f"  Play ratio per session vs lone: median {statistics.median(ratios):.2f}x, max {max(ratios):.2f}x "
            f"(floor 1.5x): {sum(r <= 1.5 for r in ratios)} of {args.tabs} within"
        )
        waits = [p.pause for p in plays if p.pause == p.pause]  # nan: no Pause to press
        days = [p.stopped_day for p in plays]
        print(
            f"  Pause: pressed in {len(waits)} of {len(plays)}"
            + (f", Play stopped median {statistics.median(waits):.1f} s after it (max {max(waits):.1f} s)" if waits else "")
            + f"; stopped on day median {statistics.median(days):g} (lone: day {lone.stopped_day}), {sum(d >= LAST_DAY for d in days)} ran on to day {LAST_DAY}"
        )
    if ends:
        ran = [t for t in ends if t is not None]
        print(
            f"  Run to the end: {len(ran)} of {args.tabs} ran it" + (f" (max {max(ran):.1f} s)" if ran else "") + f"; "
            f"{len(ends) - len(ran)} were at the last day already (Play had run on to it)"
        )
    if many:
        walls, computes = [m[0] for m in many], [m[1] for m in many]
        print(
            f"  Many worlds: {len(many)} of {args.tabs}; p95 {_p95(walls):.2f} s from click to bars (floor 1 s), "
            f"p95 compute {_p95(computes):.2f} s; lone {lone_many:.2f} s (compute {lone_compute:.2f} s)"
        )
    seconds = [t for ok, t in zips if ok]
    print(
        f"  Debriefs downloaded: {len(seconds)} of {args.tabs}"
        + (f" (valid zips; click to file median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s)" if seconds else "")
    )
    played = [
        (int(m.group(1)), float(m.group(2)))
        for m in re.finditer(r"played (\d+) days in ([\d.]+) s", (ROOT / "results" / "benchmark_classroom_server.log").read_text())
    ]
    if played:
        per_day = [s / d for d, s in played if d]
        print(f"  Server's Play record: {len(played)} plays, seconds per day median {statistics.median(per_day):.3f}, max {max(per_day):.3f} (set: 0.2)")
    if Phase.done[crowd:]:
        print("  Server CPU per phase, N sessions: " + "; ".join(f"{p.name} {p.cpu:.1f} s in {p.wall:.1f} s" for p in Phase.done[crowd:]))
        print("  Clients' CPU per phase: " + "; ".join(f"{p.name} {p.clients:.1f} s" for p in Phase.done[crowd:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", choices=["websocket", "browser"], default="websocket", help="the students: websocket (default) or Chromium tabs")
    ap.add_argument("--tabs", type=int, default=30, help="sessions at once: browser tabs or websocket clients (default 30)")
    ap.add_argument("--days", type=int, default=20, help="days each session plays before pausing (default 20)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds one step may take in one session (default 300)")
    ap.add_argument("--budget", type=float, default=1500, help="seconds for the whole run (default 1500)")
    args = ap.parse_args()
    if not 1 <= args.tabs <= 60 or not 1 <= args.days <= 59:
        ap.error("--tabs 1..60, --days 1..59")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
