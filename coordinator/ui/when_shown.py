"""Refresh a screen now if it is shown, else when it is next shown: a hidden screen reads nothing
that no one would see, and a burst of news while it is hidden costs one read when it comes back."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget


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
