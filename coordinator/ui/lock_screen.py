"""The lock screen: who is locked out, a password field, Unlock and Quit; nothing of the study."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from coordinator.errors import CoordinatorError
from coordinator.service import Service
from coordinator.ui.fields import ErrorLabel, password_edit, waiting


class LockScreen(QWidget):
    """'Locked — Dana Reyes. Enter your password to continue', a password field, Unlock and Quit.

    Signals:
        unlocked(): the password was right.
        quit_requested(): the user would rather quit.
    """

    unlocked = Signal()
    quit_requested = Signal()

    def __init__(self, service: Service, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self._build_ui()
        self._connect_signals()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.addStretch(2)
        box = QWidget()
        box.setMaximumWidth(460)
        layout = QVBoxLayout(box)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.password = password_edit("password")
        layout.addWidget(self.password)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.quit_button = QPushButton("Quit")
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setDefault(True)
        buttons.addWidget(self.quit_button)
        buttons.addWidget(self.unlock_button)
        layout.addLayout(buttons)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)

    def _connect_signals(self) -> None:
        self.unlock_button.clicked.connect(self.try_unlock)
        self.password.returnPressed.connect(self.try_unlock)
        self.quit_button.clicked.connect(self.quit_requested)

    def reset(self) -> None:
        """Fresh for a new lock: who is locked out, an empty field, no old message."""
        account = self.service.account
        name = escape(account.display_name if account is not None else self.service.user)
        self.title.setText(f"<h2>Locked — {name}</h2>Enter your password to continue.")
        self.password.clear()
        self.error.hide()
        self.password.setFocus(Qt.FocusReason.OtherFocusReason)

    def error_text(self) -> str:
        """What the screen says under the field ('' when nothing)."""
        return self.error.said()

    def try_unlock(self) -> None:
        password = self.password.text()
        self.password.clear()
        try:
            with waiting():
                self.service.confirm_password(password)
        except CoordinatorError as exc:  # LogInFailed: wrong password, too many tries, account disabled meanwhile
            self.error.say(str(exc))
            self.password.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        self.error.hide()
        self.unlocked.emit()
