"""Play's pacing on the classroom page: how fast days are handed to a tab that may draw slowly.

Kept apart from page.py (whose import sets up the server) so that the rule can be tested alone.
"""

from __future__ import annotations

import time


class DayShown:
    """Play's handshake with the page: a day is handed to the page only once it has shown the last,
    and after a rest as long as that showing took.

    Without it, when rendering a day takes longer than Play's interval (thirty tabs on one server),
    the render loop that handles the tab's Play click keeps finding a new day to draw and never
    returns, and the tab's Pause is read only after Play has reached the last day. With it, Play
    keeps its pace, the page shows the latest day each time it is free (skipping days under load),
    and the tab's clicks get a turn between showings."""

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
        """The page has rendered (called from its effect); ends the wait for a handed day."""
        if self._waiting:
            now = time.monotonic()
            self._waiting, self._rest_until = False, now + (now - self._handed)
