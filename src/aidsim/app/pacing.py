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

    def ready(self) -> bool:
        """Whether a day may be handed now (nothing handed is unshown, and the rest is over)."""
        return not self._waiting and time.monotonic() >= self._rest_until

    def take(self) -> bool:
        """Whether to hand the page the current day now; if so, it is expected."""
        if not self.ready():
            return False
        self._waiting, self._handed = True, time.monotonic()
        return True

    def shown(self) -> None:
        """The handed day is on the page; ends the wait for it and starts the rest."""
        if self._waiting:
            now = time.monotonic()
            self._waiting, self._rest_until = False, now + (now - self._handed)


class Turns:
    """Turns at showing a day of Play, shared by every tab of one server.

    The page is Python on one interpreter: thirty tabs showing their day at once all queue for
    the one interpreter lock, and a Play thread waiting behind them steps its world late (thirty
    tabs played at a third of their set pace). With turns, one tab shows its day at a time; a tab
    waits for its turn a bounded time, roughly in the order the tabs asked (a waiting tab is woken
    first, though one arriving just as the turn frees may take it), and when the wait runs out it
    skips showing that day, never the day itself: every Play keeps its pace, and each tab's page
    shows its latest day at its next turn. Clicks are not gated: they render at once."""

    def __init__(self, at_once: int = 1) -> None:
        self._free = threading.BoundedSemaphore(at_once)

    @contextmanager
    def take(self, wait: float = 0.0) -> Iterator[bool]:
        """A turn (True), held for the block, if one comes within `wait` seconds; False otherwise."""
        got = self._free.acquire(timeout=wait) if wait > 0 else self._free.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                self._free.release()
