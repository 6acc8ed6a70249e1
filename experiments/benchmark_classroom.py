"""A class on one laptop: N browser tabs against ONE `aidsim-app` server on 127.0.0.1.

    .venv/bin/python experiments/benchmark_classroom.py              # 30 tabs
    .venv/bin/python experiments/benchmark_classroom.py --tabs 10    # a lighter run

Starts the server itself (on a free port), opens a lone tab first (the reference), then N tabs in
one headless Chromium (Debian's `chromium`, as the browser tests), and drives them as a class
does: everyone presses Play at once and pauses after --days days, then Run to the end, then the
Many worlds tab, then the debrief download. Prints, per phase, wall time and the server's own CPU
seconds (read from /proc, so the browsers' CPU is counted apart), and the issue's figures:

- Play: each tab's time for --days days against the lone tab's (ratio; floor 1.5x), as the
  browser shows it; the server's own record of each Play ("aidsim-app: played N days in S s" in
  results/benchmark_classroom_server.log) is summarised too;
- Many worlds: seconds from opening the tab to its bars, 95th percentile (floor 1 s), and the
  server's compute time it reports;
- debriefs downloaded of N.

Bounded: every wait has a timeout (--timeout per phase), the whole run stops after --budget
seconds, and the server and the browser are stopped at the end, whatever happened. On 2 cores the
browsers sit beside the server and take most of the CPU: the Play ratio then measures the
machine more than the server, which is why the server's CPU seconds are printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.async_api import async_playwright

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
DAY_JS = "d => { const m = (document.querySelector('.day-counter')?.textContent || '').match(/Day (\\d+)/); return m && +m[1] >= d; }"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children that have exited (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


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
    """Wall time and server CPU of one phase, printed on exit."""

    def __init__(self, server: Server, name: str):
        self.server, self.name = server, name

    def __enter__(self):
        self.t0, self.c0 = time.perf_counter(), self.server.cpu()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.t0, self.server.cpu() - self.c0
        print(f"  {self.name}: {self.wall:.1f} s wall, server CPU {self.cpu:.1f} s ({self.cpu / self.wall:.0%} of one core)", flush=True)


async def open_tab(browser, url: str, timeout: float):
    context = await browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(timeout * 1000)
    await page.goto(url)
    await page.locator(".need_figure .main-svg").first.wait_for()
    return page


async def choose_speed(page):
    """Set Play's speed in a tab; returns the tab, ready to play."""
    await page.get_by_label("Play speed").click(force=True)
    await page.get_by_role("option", name=SPEED, exact=True).click()
    await page.keyboard.press("Escape")
    return page


async def play(page, days: int, timeout: float) -> float:
    """Play from day 0 until the day counter shows `days`; pause; seconds."""
    t0 = time.perf_counter()
    await page.get_by_role("button", name="Play", exact=True).click()
    await page.wait_for_function(DAY_JS, arg=days, polling=100, timeout=timeout * 1000)
    elapsed = time.perf_counter() - t0
    await page.get_by_role("button", name="Pause", exact=True).click(force=True)  # a busy page never looks "stable"
    return elapsed


async def to_end(page, timeout: float) -> float:
    t0 = time.perf_counter()
    await page.get_by_role("button", name="Run to the end", exact=True).click(force=True)
    await page.wait_for_function(DAY_JS, arg=60, polling=100, timeout=timeout * 1000)
    return time.perf_counter() - t0


async def many_worlds(page, timeout: float) -> tuple[float, float]:
    """(seconds from opening the tab to the bars, the compute seconds the page reports)."""
    t0 = time.perf_counter()
    await page.get_by_role("tab", name="Many worlds").click()
    await page.locator(".shares_figure .main-svg").first.wait_for(timeout=timeout * 1000)
    wall = time.perf_counter() - t0
    text = await page.locator(".many-worlds-time").inner_text(timeout=timeout * 1000)
    found = re.search(r"in ([\d.]+) s", text)
    return wall, float(found.group(1)) if found else float("nan")


async def debrief(page, timeout: float) -> bool:
    await page.get_by_role("tab", name="Debrief").click()
    async with page.expect_download(timeout=timeout * 1000) as info:
        await page.get_by_role("button", name="Download debrief (zip)", exact=True).click()
    download = await info.value
    return (await download.path()) is not None and download.suggested_filename.endswith(".zip")


async def gather(label: str, coros, budget_end: float):
    """Run one step in every tab at once; failures (timeouts) are counted, not raised."""
    left = max(1.0, budget_end - time.monotonic())
    try:
        results = await asyncio.wait_for(asyncio.gather(*coros, return_exceptions=True), left)
    except TimeoutError:
        print(f"  {label}: the run's time budget ran out", flush=True)
        return []
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        print(f"  {label}: {len(failed)} of {len(results)} tabs failed, e.g. {' | '.join(str(failed[0]).splitlines()[:4])[:400]}", flush=True)
    return [r for r in results if not isinstance(r, BaseException)]


async def main_async(args) -> None:
    chromium = os.environ.get("AIDSIM_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no chromium on PATH (apt-get install chromium)")
    (ROOT / "results").mkdir(exist_ok=True)
    budget_end = time.monotonic() + args.budget
    server = Server()
    print(f"server {server.url} (pid {server.proc.pid}); {args.tabs} tabs; Play {args.days} days at {SPEED!r}; {os.cpu_count()} cores", flush=True)
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                print("lone tab:", flush=True)
                lone_page = await open_tab(browser, server.url, args.timeout)
                await choose_speed(lone_page)
                with Phase(server, "play"):
                    lone = await play(lone_page, args.days, args.timeout)
                lone_many, lone_compute = await many_worlds(lone_page, args.timeout)
                print(
                    f"  Play {args.days} days: {lone:.1f} s (sleeps alone: {0.2 * args.days:.1f} s); "
                    f"many worlds {lone_many:.2f} s (compute {lone_compute:.2f} s)"
                )
                await lone_page.context.close()

                print(f"{args.tabs} tabs:", flush=True)
                with Phase(server, "open"):
                    pages = await gather("open", [open_tab(browser, server.url, args.timeout) for _ in range(args.tabs)], budget_end)
                print(f"  {len(pages)} of {args.tabs} tabs loaded", flush=True)
                ready = []
                for pg in pages:  # one menu at a time, before the clock starts; a tab that fails is left out
                    ready += await gather("play speed", [choose_speed(pg)], budget_end)
                pages = ready
                with Phase(server, "play"):
                    plays = await gather("play", [play(pg, args.days, args.timeout) for pg in pages], budget_end)
                with Phase(server, "run to the end"):
                    ends = await gather("run to the end", [to_end(pg, args.timeout) for pg in pages], budget_end)
                with Phase(server, "many worlds"):
                    many = await gather("many worlds", [many_worlds(pg, args.timeout) for pg in pages], budget_end)
                with Phase(server, "debrief"):
                    zips = await gather("debrief", [debrief(pg, args.timeout) for pg in pages], budget_end)
            finally:
                await browser.close()
    finally:
        server.stop()

    ratios = [t / lone for t in plays]
    print("\nresults")
    if plays:
        median = statistics.median(plays)
        print(f"  Play {args.days} days: lone {lone:.1f} s; {len(plays)} of {args.tabs} tabs: median {median:.1f} s, max {max(plays):.1f} s")
        print(
            f"  Play ratio per tab vs lone: median {statistics.median(ratios):.2f}x, max {max(ratios):.2f}x "
            f"(floor 1.5x): {sum(r <= 1.5 for r in ratios)} of {args.tabs} within"
        )
    if ends:
        print(f"  Run to the end: {len(ends)} of {args.tabs} reached day 60, max {max(ends):.1f} s")
    if many:
        walls, computes = [m[0] for m in many], [m[1] for m in many]
        print(
            f"  Many worlds: {len(many)} of {args.tabs}; p95 {_p95(walls):.2f} s from click to bars (floor 1 s), "
            f"p95 compute {_p95(computes):.2f} s; lone {lone_many:.2f} s"
        )
    print(f"  Debriefs downloaded: {sum(bool(z) for z in zips)} of {args.tabs}")
    played = [
        (int(m.group(1)), float(m.group(2)))
        for m in re.finditer(r"played (\d+) days in ([\d.]+) s", (ROOT / "results" / "benchmark_classroom_server.log").read_text())
    ]
    if played:
        per_day = [s / d for d, s in played if d]
        print(f"  Server's Play record: {len(played)} plays, seconds per day median {statistics.median(per_day):.3f}, max {max(per_day):.3f} (set: 0.2)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tabs", type=int, default=30, help="browser tabs (default 30)")
    ap.add_argument("--days", type=int, default=20, help="days each tab plays before pausing (default 20)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds one step may take in one tab (default 300)")
    ap.add_argument("--budget", type=float, default=1500, help="seconds for the whole run (default 1500)")
    args = ap.parse_args()
    if not 1 <= args.tabs <= 60 or not 1 <= args.days <= 59:
        ap.error("--tabs 1..60, --days 1..59")
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
