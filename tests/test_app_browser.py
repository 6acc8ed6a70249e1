"""The classroom page in a real browser: headless Debian Chromium driven by Playwright.

Needs `chromium` on PATH (`make browser` installs Debian's; Playwright cannot download its own
here) and npm once, to fill the page's asset cache (`aidsim.assets`). The server is started the
way a teacher starts it, `aidsim-app --port N`, and must never reach for the internet: every
request the page makes has to stay on 127.0.0.1.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aidsim.app import assets
from aidsim.report.narrative import WHO

playwright = pytest.importorskip("playwright.sync_api", reason="the `app` extra is not installed")
from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "results" / "app-screenshot.png"
CHROMIUM_ARGS = list(assets.CHROMIUM_ARGS)
LOCAL = ("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:http://127.0.0.1:")
SLOW = 60_000  # ms: a loaded 2-core machine draws figures slowly
expect.set_options(timeout=SLOW)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`aidsim-app` on a free port; yields its URL; checks its log for CDN fetches at the end."""
    port = assets.free_port()
    log_path = tmp_path_factory.mktemp("app") / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "aidsim.cli.app", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        url = f"http://127.0.0.1:{port}/"
        problem = assets.wait_until_serving(proc, url, 300)  # a first start on a clean clone fills the page-file cache
        if problem:
            proc.kill()
            pytest.fail(f"aidsim-app: {problem}: {log_path.read_text()[-2000:]}")
        yield url
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    text = log_path.read_text()
    assert "aidsim-app: open http://127.0.0.1:" in text
    assert "Could not load URL" not in text, "the server tried to fetch a front-end file from a CDN"


@pytest.fixture(scope="module")
def browser():
    chromium = os.environ.get("AIDSIM_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        pytest.fail("no chromium on PATH: run `make browser` (Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Tab:
    """One browser tab on the page, with everything it requested and every error it logged."""

    def __init__(self, context, url: str):
        self.page = page = context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("websocket", lambda ws: self.requests.append(ws.url))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.set_default_timeout(SLOW)
        page.goto(url)
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        expect(self.day).to_have_text("Day 0 of 60", timeout=120_000)

    @property
    def day(self):
        return self.page.locator(".day-counter")

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    def step(self, days: int) -> None:
        start = int(re.search(r"Day (\d+)", self.day.inner_text()).group(1))
        for i in range(1, days + 1):
            self.button("Step").click()
            expect(self.day).to_have_text(re.compile(rf"^Day {start + i} of"))

    def figure(self, name: str):
        return self.page.locator(f".{name}")

    def choose(self, label: str, option: str) -> None:
        self.page.get_by_label(label).click(force=True)
        self.page.get_by_role("option", name=option, exact=True).click()

    def outside(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(LOCAL)]

    def clean(self) -> None:
        assert self.outside() == [], f"requests leaving 127.0.0.1: {self.outside()}"
        assert self.errors == [], self.errors


@pytest.fixture
def context(browser):
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1600, "height": 1000})
    yield ctx
    ctx.close()


def test_page_loads_offline_and_stepping_fills_the_feed(server, context):
    tab = Tab(context, server)
    page = tab.page
    expect(page.get_by_text("Who offers help, and will Pyongyang take any of it?", exact=False)).to_be_visible()
    assert any("/_solara/cdn/@widgetti/solara-vuetify-app@" in u for u in tab.requests)  # assets served locally
    assert page.locator(".dispatch-line").count() == 1
    tab.step(9)  # the first offers come after a week
    expect(tab.figure("need_figure")).to_contain_text("day 9")
    lines = page.locator(".dispatch-line")
    assert lines.count() > 1
    days = [int(re.search(r"Day (\d+)", t).group(1)) for t in lines.all_inner_texts()]
    assert days == sorted(days, reverse=True) and days[0] > 0, days  # newest first
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    tab.clean()


def test_moving_a_slider_changes_the_plots(server, context):
    tab = Tab(context, server)
    page = tab.page
    expect(tab.figure("need_figure")).to_contain_text("day 0")
    before = tab.figure("need_figure").inner_html()
    page.get_by_role("tab", name="Many worlds").click()
    shares = tab.figure("shares_figure")
    expect(shares).to_contain_text("1,000 worlds")
    bars_before = shares.inner_html()
    slider = page.get_by_role("slider", name=re.compile(r"^Flood severity"))
    slider.focus()
    for _ in range(5):  # 1x the 2024 damage -> 50x
        page.keyboard.press("ArrowRight")
    expect(page.get_by_text("Flood severity (x 2024 damage): 50")).to_be_visible()
    page.wait_for_function("([el, old]) => el.innerHTML !== old", arg=[shares.element_handle(), bars_before], timeout=SLOW)
    page.get_by_role("tab", name="This world").click()
    tab.button("Reset").click()
    expect(tab.figure("need_figure")).to_contain_text("day 0")
    page.wait_for_function("([el, old]) => el.innerHTML !== old", arg=[tab.figure("need_figure").element_handle(), before], timeout=SLOW)
    tab.clean()


def test_a_role_play_decision_changes_the_outcome(server, context):
    tab = Tab(context, server)
    page = tab.page
    tab.choose("Student's seat (applies on Reset)", "Moscow")
    tab.button("Reset").click()
    card = page.locator(".decision-card")
    expect(card).to_contain_text("Your decision as Moscow: day 1")
    expect(tab.button("Step")).to_be_disabled()  # the model waits for the student
    tab.button("Wait a day").click()
    expect(card).to_contain_text("day 2")
    tab.button("Offer aid").click()
    expect(card).to_have_count(0)
    moscow = WHO["russia"]  # the dispatch names donors as conf/actors does ("Russia"); the seat is "Moscow"
    expect(page.locator(".dispatch-line").filter(has_text=f"{moscow} offers relief")).to_have_count(1)
    tab.button("Run to the end").click()
    expect(tab.day).to_have_text("Day 60 of 60")
    result = page.locator(".roleplay-result")
    expect(page.locator(".roleplay-student")).to_contain_text("you (Moscow) offered on day 2")
    expect(page.locator(".roleplay-model")).not_to_contain_text("offered on day 2:")  # the model's Moscow moved later
    expect(result.locator(".comparison_figure")).to_contain_text("your decision")
    tab.clean()


def test_two_tabs_are_independent(server, context):
    a, b = Tab(context, server), Tab(context, server)
    a.step(3)
    b.page.bring_to_front()
    expect(b.day).to_have_text("Day 0 of 60")
    b.step(1)
    b.button("Reset").click()
    expect(b.day).to_have_text("Day 0 of 60")
    expect(a.day).to_have_text("Day 3 of 60")
    a.clean()
    b.clean()


def test_large_type_for_the_projector(server, context):
    tab = Tab(context, server)
    size = lambda: float(tab.day.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))  # noqa: E731
    normal = size()
    tab.page.get_by_role("switch", name="Large type").click(force=True)  # vuetify's ripple overlays the input
    tab.page.wait_for_function(f"() => parseFloat(getComputedStyle(document.querySelector('.day-counter')).fontSize) > {normal} * 1.2")
    assert size() > normal * 1.2
    tab.clean()


def test_debrief_download_holds_dispatch_table_and_figures(server, context):
    tab = Tab(context, server)
    tab.step(3)
    tab.page.get_by_role("tab", name="Debrief").click()
    with tab.page.expect_download(timeout=SLOW) as download:
        tab.button("Download debrief (zip)").click()
    assert download.value.suggested_filename == "aidsim-debrief-amnok_2024-seed2024-day3.zip"
    z = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    names = z.namelist()
    assert "dispatch.md" in names and "outcomes.csv" in names
    assert any(n.startswith("figures/") and n.endswith(".png") for n in names)
    assert "Day 0" in z.read("dispatch.md").decode()
    tab.clean()


def test_hostile_seed_is_one_line_and_play_moves_the_figures(server, context):
    tab = Tab(context, server)
    page = tab.page
    for bad in (str(2**63), "-1", "1e9", "<b>x</b>"):
        page.get_by_label("Seed (which world)").fill(bad)
        tab.button("Reset").click()
        expect(page.locator(".seed-error")).to_contain_text("seed")
        assert page.get_by_text("Traceback").count() == 0
    page.get_by_label("Seed (which world)").fill("2024")
    tab.button("Reset").click()
    expect(page.locator(".seed-error")).to_have_count(0)
    # Every title the need figure shows while playing (a poll would miss a day at play speed).
    page.evaluate(
        """() => { const el = document.querySelector('.need_figure'); window.titles = new Set();
        new MutationObserver(() => { const t = el.querySelector('.gtitle'); if (t) window.titles.add(t.textContent); })
            .observe(el, {subtree: true, childList: true, characterData: true}); }"""
    )
    tab.choose("Play speed", "fast (0.2 s a day)")
    tab.button("Play").click()
    page.wait_for_function("() => window.titles.has('Need vs domestic capacity, day 5')")  # the figures follow Play day by day
    tab.button("Pause").click()
    expect(tab.button("Play")).to_be_enabled()
    assert tab.day.inner_text() != "Day 60 of 60"  # paused mid-run: not only the end was drawn
    page.screenshot(path=str(SCREENSHOT.with_name("app-play.png")), full_page=True)
    tab.clean()


def test_a_shared_room_holds_a_teacher_and_two_students(server, browser):
    """A teacher opens a room; two students join from their own browsers; the day waits for both;
    every screen shows the same dispatch; a closed tab does not stop the room."""
    contexts = [browser.new_context(viewport={"width": 1600, "height": 1000}) for _ in range(3)]
    try:
        teacher, ana, ben = (_RoomTab(c, server + "room") for c in contexts)
        teacher.page.get_by_role("button", name="Open a room", exact=True).click()
        code = teacher.page.locator(".room-code")
        expect(code).to_have_text(re.compile(r"^[A-Z2-9]{4}$"))
        room = code.inner_text()
        ana.join(room, "Ana", "Moscow")
        ben.join(room, "<b>Ben</b>", "Seoul")
        status = teacher.page.locator(".seat-status")
        expect(status).to_contain_text("Moscow")
        expect(status).to_contain_text("<b>Ben</b>")  # a name is text, never markup
        expect(status.locator("tr").filter(has_text="Seoul")).to_contain_text("deciding...")
        teacher.button("Step").click()
        ana.button("Wait a day").click()
        expect(ana.page.locator(".decided")).to_contain_text("wait a day")
        expect(status.locator("tr").filter(has_text="Moscow")).to_contain_text("decided")
        expect(status.locator("tr").filter(has_text="Seoul")).to_contain_text("deciding...")
        expect(teacher.day).to_contain_text("day 0 of")  # the day waits for Ben
        teacher.page.screenshot(path=str(SCREENSHOT.with_name("room-teacher-waiting.png")), full_page=True)
        ben.button("Offer aid").click()
        for tab in (teacher, ana, ben):
            expect(tab.day).to_contain_text("day 1 of")
        seoul = WHO["south_korea"]
        for tab in (teacher, ana, ben):
            expect(tab.page.locator(".dispatch-line").filter(has_text=seoul).first).to_be_visible()
        feeds = {tab.page.locator(".dispatch-feed").inner_text() for tab in (teacher, ana, ben)}
        assert len(feeds) == 1, "the screens show different dispatches"
        ben.page.screenshot(path=str(SCREENSHOT.with_name("room-student.png")), full_page=True)
        ben.page.close()  # Ben's tab closes: the room goes on, the model decides for Seoul when due
        teacher.page.get_by_label("Timer for each day").click(force=True)
        teacher.page.get_by_role("option", name="30 s, then the model decides", exact=True).click()
        teacher.button("Play").click()
        ana.button("Offer aid").click()
        expect(teacher.day).to_contain_text("day 3 of", timeout=SLOW)
        expect(status.locator("tr").filter(has_text="Seoul")).to_contain_text("left")
        teacher.button("Pause").click()
        teacher.page.screenshot(path=str(SCREENSHOT.with_name("room-teacher.png")), full_page=True)
        for tab in (teacher, ana):
            tab.clean()
    finally:
        for c in contexts:
            c.close()


class _RoomTab(Tab):
    """A tab on the shared room's page (/room): it starts in the lobby."""

    def wait_until_ready(self) -> None:
        expect(self.button("Join")).to_be_visible(timeout=120_000)

    def join(self, code: str, name: str, seat: str) -> None:
        self.page.get_by_label("Room code").fill(code.lower())
        self.page.get_by_label("Your name").fill(name)
        self.choose("Your seat", seat)
        self.button("Join").click()
        expect(self.page.locator(".student-panel")).to_contain_text(f"You are {seat}")
