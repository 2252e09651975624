"""Refresh a screen now if it is shown, else when it is next shown: a hidden screen reads nothing
that no one would see, and a burst of news while it is hidden costs one read when it comes back."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from coordinator.service import Service
    from coordinator.ui.session import Session


class WhenShown(QObject):
    """Calls ``refresh()`` for ``widget``: at once from ``request()`` while the widget is visible,
    else once when it is next shown (a tab page, a screen of the stack, the window after the lock).

    ``stale``: what the widget shows is out of date; its ``refresh`` sets it False (a refresh asked
    for directly, while hidden, also counts). ``every_show``: read again each time the widget is
    shown, for what changes without news (the audit trail: prints, exports, log-ins).
    """

    def __init__(self, widget: QWidget, refresh: Callable[[], None], stale: bool = False, every_show: bool = False):
        super().__init__(widget)
        self._widget = widget
        self._refresh = refresh
        self._every_show = every_show
        self.stale = stale
        widget.installEventFilter(self)

    def request(self, *_args) -> None:
        """What the widget shows is out of date (a signal's arguments are ignored)."""
        if self._widget.isVisible():
            self.stale = False
            self._refresh()
        else:
            self.stale = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget:
            if event.type() == QEvent.Type.Show and self.stale:
                self.stale = False
                self._refresh()
            elif event.type() == QEvent.Type.Hide and self._every_show:
                self.stale = True
        return False


class BackgroundReader(WhenShown):
    """A ``WhenShown`` whose refresh reads on a worker thread (``Session.run_in_background``), so a
    large database never makes the window stutter; a read that a newer one overtook is dropped.

    ``read()`` runs on the GUI thread at each refresh and returns the function of the service that
    the worker runs (so it holds the day, the horizon... as they were when asked); ``shown(result)``
    shows what that function returned, ``failed(exc)`` says why it could not. ``loading``: a read
    is on its way.
    """

    def __init__(self, widget: QWidget, session: Session, read: Callable[[], Callable[[Service], object]],
                 shown: Callable[[object], None], failed: Callable[[Exception], None],
                 stale: bool = False, every_show: bool = False):
        super().__init__(widget, self.refresh, stale=stale, every_show=every_show)
        self._session = session
        self._read = read
        self._shown = shown
        self._failed = failed
        self._generation = 0
        self.loading = False

    def refresh(self) -> None:
        """Read now, shown or not (``request()`` waits for the widget to be shown)."""
        self.stale = False
        self._generation += 1
        generation = self._generation
        self.loading = True
        self._session.run_in_background(self._widget, self._read(), lambda result: self._on_read_done(generation, result),
                                        lambda exc: self._on_read_failed(generation, exc))

    def _on_read_done(self, generation: int, result) -> None:
        if generation != self._generation:
            return  # a newer read is on its way
        self.loading = False
        self._shown(result)

    def _on_read_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation:
            return  # a newer read is on its way, and will say how it went
        self.loading = False
        self._failed(exc)
