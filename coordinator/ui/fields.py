"""The small fields the screens and the forms share: a date edit, an error label, a password
field, and a wait cursor around a short blocking call.

Apart from ``form`` (the dialogs), since the main window needs them before any dialog opens.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from PySide6.QtCore import QDate, QEventLoop, Qt
from PySide6.QtWidgets import QApplication, QDateEdit, QLabel, QLineEdit, QWidget

from coordinator.ui.words import readable

DATE_FORMAT = "ddd dd-MMM-yyyy"  # design.md: unambiguous across locales, weekday where it helps planning
NO_DATE = QDate(1900, 1, 1)  # an optional date edit shows "not set" at this value
ERROR_STYLE = "color: #D55E00;"


def to_qdate(day: dt.date | None) -> QDate:
    return QDate(day.year, day.month, day.day) if day else NO_DATE


def from_qdate(day: QDate) -> dt.date | None:
    return None if day == NO_DATE or not day.isValid() else dt.date(day.year(), day.month(), day.day())


class DateEdit(QDateEdit):
    """A date with a calendar pop-up, shown as 'Mon 03-Mar-2025'; optional dates may be 'not set'."""

    def __init__(self, value: dt.date | None = None, optional: bool = False, parent: QWidget | None = None):
        super().__init__(parent)
        self.setCalendarPopup(True)
        self.setDisplayFormat(DATE_FORMAT)
        self.setMaximumDate(QDate(9999, 12, 31))
        if optional:
            self.setMinimumDate(NO_DATE)
            self.setSpecialValueText("not set")
        else:
            self.setMinimumDate(QDate(1900, 1, 2))
        self.set_value(value)

    def value(self) -> dt.date | None:
        return from_qdate(self.date())

    def set_value(self, value: dt.date | None) -> None:
        self.setDate(to_qdate(value) if value or self.minimumDate() == NO_DATE else QDate.currentDate())


class ErrorLabel(QLabel):
    """A refusal in words, under what it is about: '▲ …' in the error colour, hidden until said."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStyleSheet(ERROR_STYLE)
        self.setWordWrap(True)
        self.hide()

    def say(self, message: str) -> None:
        self.setText("▲ " + readable(message))
        self.show()

    def said(self) -> str:
        """What the user sees ('' when nothing)."""
        return self.text() if not self.isHidden() else ""


def password_edit(placeholder: str = "") -> QLineEdit:
    """A field whose typing is hidden; read it with ``text()``, never trimmed (a space is part of a password)."""
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setPlaceholderText(placeholder)
    return edit


@contextlib.contextmanager
def waiting():
    """A wait cursor around a short blocking call on the GUI thread (a password check: scrypt takes
    about a third of a second)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    QApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)  # so the cursor shows now
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()
