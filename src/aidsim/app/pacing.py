"""Play's pacing on the classroom page: how fast days are handed to a tab that may draw slowly.

Kept apart from page.py (whose import sets up the server) so that the rule can be tested alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class DayShown:
    """Play's handshake with the page: a day is handed to the page only once it has shown the last,
    and after a rest as long as that showing took.

    When showing a day takes longer than Play's interval (thirty tabs on one server), a tab that
    showed every day would spend all its time showing and leave its clicks (Pause) no turn; with
    the rest, Play keeps its pace, the page shows the latest day each time it is free (skipping
    days under load), and the tab's clicks get a turn between showings."""

    def __init__(self) -> None:
        self._waiting = False  # a day was handed and is not shown yet
        self._handed = self._rest_until = 0.0

    def take(self) -> bool:
        """Whether to hand the page the current day now; if so, it is expected."""
        now = time.monotonic()
        if self._waiting or now < self._rest_until:
            return False
        self._waiting, self._handed = True, now
        return True

    def shown(self) -> None:
        """The handed day is on the page; ends the wait for it and starts the rest."""
        if self._waiting:
            now = time.monotonic()
            self._waiting, self._rest_until = False, now + (now - self._handed)


class Turns:
    """Turns at rendering a day of Play, shared by every tab of one server, taken without waiting.

    The page is Python on one interpreter: thirty tabs rendering their day at once all queue for
    the one interpreter lock, and a Play thread waiting behind them steps its world late (thirty
    tabs played at a third of their set pace). With turns, a tab renders its day only when a turn
    is free and otherwise skips the drawing, never the day: every Play keeps its pace, and each
    tab's page shows its latest day at its next turn. Clicks are not gated: they render at once."""

    def __init__(self, at_once: int = 1) -> None:
        self._free = threading.BoundedSemaphore(at_once)

    @contextmanager
    def take(self) -> Iterator[bool]:
        """A turn if one is free now (True), held for the block; False (and no wait) otherwise."""
        got = self._free.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._free.release()
