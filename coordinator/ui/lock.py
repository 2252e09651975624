"""The window locks after a spell without input, or on Ctrl+L, until its user gives the password again.

Only where someone logged in: single-user mode has no password to unlock with. Locked, the window
shows the lock screen instead of its content (a page of a stack, so nothing behind it can be seen
or reached by keyboard), its menus are greyed except Quit, its status bar and any of its dialogs
are closed, and a dialog that a background job opens meanwhile is closed as it appears: nothing
identifying stays on screen (design.md).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QShortcut
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QMenu, QStackedWidget, QToolTip, QWidget

from coordinator.service import Service
from coordinator.ui import settings

if TYPE_CHECKING:
    from coordinator.ui.lock_screen import LockScreen

MINUTE_MS = 60_000  # tests make a "minute" a few milliseconds
INPUT_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TabletPress,
})


class InactivityWatch(QObject):
    """Watches the whole application's input (an event filter) and says when none came for the interval.

    Signals:
        idle(): no key press, click, mouse move or wheel turn for ``interval_ms``.
    """

    idle = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse one of 20 s or more counts whole seconds
        self._last_position = None
        self._timer.timeout.connect(self.idle)
        self._interval_ms = 0
        self._filtering = False

    @property
    def interval_ms(self) -> int:
        return self._interval_ms

    def remaining_ms(self) -> int:
        """Until idle, if no input comes; -1 when not counting (never, or locked)."""
        return self._timer.remainingTime() if self._timer.isActive() else -1

    def set_interval_ms(self, ms: int) -> None:
        """0: never idle. The filter sees every event of the application, in Python: it is
        installed only while there is something to count (single-user mode has not)."""
        self._interval_ms = max(0, int(ms))
        if bool(self._interval_ms) != self._filtering:
            if self._interval_ms:
                QApplication.instance().installEventFilter(self)
            else:
                QApplication.instance().removeEventFilter(self)
            self._filtering = bool(self._interval_ms)
        self.resume()

    def pause(self) -> None:
        self._timer.stop()

    def resume(self) -> None:
        if self._interval_ms:
            self._timer.start(self._interval_ms)
        else:
            self._timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in INPUT_EVENTS and self._timer.isActive():
            if event.type() == QEvent.Type.MouseMove:
                # Qt itself sends a mouse move when a widget appears under a still cursor (a screen
                # refreshing itself): only a move to somewhere else is someone at the desk
                where = event.globalPosition()
                if where == self._last_position:
                    return False
                self._last_position = where
            self._timer.start()  # from now again
        return False


class WindowLock(QObject):
    """Puts a main window's content and the lock screen in a stack, and switches between them."""

    def __init__(self, window: QMainWindow, service: Service, keep: tuple[QAction, ...] = ()):
        super().__init__(window)
        self.window = window
        self.service = service
        self._keep = set(keep)  # actions that work while locked (Quit)
        self._title = ""
        self._focus: QWidget | None = None
        self._status_visible = True
        self._switched_off: list[tuple[QAction | QShortcut, bool]] = []  # and whether each was on
        self._screen: LockScreen | None = None
        self._actions = QActionGroup(self)  # a disabled group keeps its actions disabled, whoever enables them
        self._actions.setExclusionPolicy(QActionGroup.ExclusionPolicy.None_)
        self._build_ui()
        self._connect_signals()

    def _build_ui(self) -> None:
        self.content = self.window.takeCentralWidget()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.content)
        self.window.setCentralWidget(self.pages)
        self.watch = InactivityWatch(self)

    def _connect_signals(self) -> None:
        self.watch.idle.connect(self.lock)

    @property
    def screen(self) -> LockScreen:
        """The lock screen, the stack's second page: built at the first lock (single-user mode
        never locks, and the window is up sooner without it)."""
        if self._screen is None:
            from coordinator.ui.lock_screen import LockScreen
            self._screen = LockScreen(self.service)
            self.pages.addWidget(self._screen)
            self._screen.unlocked.connect(self.unlock)
            self._screen.quit_requested.connect(self.window.close)
        return self._screen

    @property
    def available(self) -> bool:
        """Someone logged in, whose password can unlock the window."""
        return self.service.account is not None

    @property
    def locked(self) -> bool:
        return self._screen is not None and self.pages.currentWidget() is self._screen

    def set_minutes(self, minutes: int) -> None:
        """Lock after this many minutes without input; nobody logged in: never by itself. With
        someone logged in the lock cannot be turned off: 0 (or less) means the default."""
        if minutes <= 0:
            minutes = settings.LOCK_MINUTES.default
        self.watch.set_interval_ms(minutes * MINUTE_MS if self.available else 0)
        if self.locked:
            self.watch.pause()

    # -- locking ---------------------------------------------------------------------------------
    def lock(self) -> None:
        if not self.available or self.locked:
            return
        self.watch.pause()
        self._close_dialogs()
        for action in self._window_actions():
            if action.actionGroup() is None:
                self._actions.addAction(action)
            else:  # already in a group of its owner's (a choice of one): turned off and back by hand
                self._switched_off.append((action, action.isEnabled()))
        self._actions.setEnabled(False)
        self._switched_off += [(s, s.isEnabled()) for s in self.window.findChildren(QShortcut)]
        for thing, _enabled in self._switched_off:
            thing.setEnabled(False)
        focus = QApplication.focusWidget()
        self._focus = focus if focus is not None and self.content.isAncestorOf(focus) else None
        self._title = self.window.windowTitle()
        self.window.setWindowTitle("Coordinator · locked")
        status = self.window.statusBar()
        self._status_visible = status.isVisibleTo(self.window)
        status.clearMessage()
        status.hide()
        self.pages.setCurrentWidget(self.screen)
        self.screen.reset()
        QApplication.instance().installEventFilter(self)

    def unlock(self) -> None:
        if not self.locked:
            return
        QApplication.instance().removeEventFilter(self)
        self.pages.setCurrentWidget(self.content)
        self.window.setWindowTitle(self._title)
        self.window.statusBar().setVisible(self._status_visible)
        self._actions.setEnabled(True)  # each action back to the state its owner last gave it
        for action in self._actions.actions():
            self._actions.removeAction(action)
        for thing, enabled in self._switched_off:
            thing.setEnabled(enabled)
        self._switched_off = []
        if self._focus is not None and shiboken6.isValid(self._focus):
            self._focus.setFocus(Qt.FocusReason.OtherFocusReason)
        self._focus = None
        self.watch.resume()

    def _window_actions(self) -> list[QAction]:
        """Every action of the menus (submenus too) and every other action with a shortcut; not
        the top menus themselves (File stays open for Quit) nor the kept ones."""
        menus = {a for a in self.window.menuBar().actions()}
        found = []
        for action in self.window.findChildren(QAction):
            if action in self._keep or action in menus:
                continue
            if action.shortcut().isEmpty() and not any(isinstance(o, QMenu) for o in action.associatedObjects()):
                continue
            found.append(action)
        return found

    def _close_dialogs(self) -> None:
        """Cancel this window's dialogs (a cancelled form saves nothing), menus and tooltips."""
        QToolTip.hideText()
        for _ in range(20):  # a popup's submenu is a popup too
            popup = QApplication.activePopupWidget()
            if popup is None:
                break
            popup.close()
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible() and self._belongs(widget):
                widget.reject()

    def _belongs(self, widget: QWidget) -> bool:
        """A dialog of this window (or of one of its dialogs), or of no window at all."""
        parent = widget.parentWidget()
        while parent is not None:
            if parent is self.window:
                return True
            parent = parent.parentWidget()
        return widget.parentWidget() is None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Locked: a dialog that appears (a background job's message or preview) is cancelled at once."""
        if event.type() == QEvent.Type.Show and isinstance(watched, QDialog) and self._belongs(watched):
            watched.setWindowOpacity(0.0)  # not even one frame of it
            QTimer.singleShot(0, functools.partial(_cancel, watched))
        return False


def _cancel(dialog: QDialog) -> None:
    if shiboken6.isValid(dialog):  # its owner may have deleted it meanwhile
        dialog.reject()
        dialog.setWindowOpacity(1.0)
