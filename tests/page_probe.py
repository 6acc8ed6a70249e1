"""Play on the classroom page, rendered in this process without a browser; prints what a test
checks as one JSON line. Run by tests/test_app_session.py in its own interpreter: importing
Solara's server starts a thread that would outlive the test (and the suite's fork tests need a
process without one)."""

from __future__ import annotations

import json
import time

import ipyvuetify as v
import solara
from solara.server import kernel, kernel_context

from aidsim.app import page, session
from aidsim.app.widgets import feed_markup

world_renders, this_world, boards, rooms = [], page.ThisWorld, [], []


class Board(page.live.Board):
    def __init__(self) -> None:
        super().__init__()
        boards.append(self)


class Room(session.Classroom):
    def __post_init__(self) -> None:
        super().__post_init__()
        rooms.append(self)


@solara.component
def CountedWorld(*args, **kwargs):
    world_renders.append(1)  # ThisWorld runs when the whole page re-renders
    return this_world(*args, **kwargs)


def main() -> None:
    page.ThisWorld, page.live.Board, page.Classroom = CountedWorld, Board, Room
    context = kernel_context.VirtualKernelContext(id="play-probe", kernel=kernel.Kernel(), session_id="play-probe")
    with context:
        _, rc = solara.render(solara.AppLayout(children=[page.ClassroomPage()]), handle_error=False)
        counter = boards[0].labels["day-counter"]
        day = lambda: int(counter.children[0].split()[1])  # noqa: E731 - "Day 12 of 60"
        rc.find(v.Select, label="Play speed").widget.v_model = "fastest"
        before = len(world_renders)
        rc.find(v.Btn, children=["Play"]).widget.click()
        deadline = time.monotonic() + 30
        while day() < 15 and time.monotonic() < deadline:
            time.sleep(0.02)
        rc.find(v.Btn, children=["Pause"]).widget.click()
        reached = day()
        time.sleep(0.3)  # let the play thread see the Pause and stop
        room = rooms[0]
        print(
            json.dumps(
                {
                    "reached": reached,
                    "world_renders_during_play": len(world_renders) - before,
                    "counter": counter.children[0],
                    "counter_wanted": f"Day {room.day} of {room.params.horizon_days}",
                    "feed_shown": boards[0].blocks["dispatch-feed"].unsafe_innerHTML == feed_markup(room),
                    "newest_line_day": room.feed()[0].day,
                }
            )
        )
        rc.close()


if __name__ == "__main__":
    main()
