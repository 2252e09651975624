"""The log-in, asked after the database is opened and before the window is built, where it has accounts.

Checking a password takes about a third of a second (scrypt, see ``accounts``): short enough to
run on the GUI thread under a wait cursor. A refusal shows under the fields and the dialog stays
open for another try; how long a run of failures must wait is the service's decision.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from coordinator.accounts import Account
from coordinator.errors import CoordinatorError
from coordinator.service import Service
from coordinator.ui.fields import ErrorLabel, password_edit, waiting


class LogInDialog(QDialog):
    """User name and password; ``account`` is who logged in once it is accepted."""

    def __init__(self, service: Service, name: str = "", path: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.account: Account | None = None
        self.setWindowTitle("Log in · Coordinator")
        self._build_ui(name, path)
        self._connect_signals()

    def _build_ui(self, name: str, path: Path | None) -> None:
        layout = QVBoxLayout(self)
        protocol = self.service.protocol
        where = f"<br>Database {escape(path.name)} <span style='color: palette(mid)'>in {escape(str(path.parent))}</span>" \
            if path is not None else ""
        self.study = QLabel(f"<b>Study {escape(protocol.code)}</b><br>{escape(protocol.short_title)}{where}")
        self.study.setTextFormat(Qt.TextFormat.RichText)
        self.study.setWordWrap(True)
        layout.addWidget(self.study)
        layout.addWidget(QLabel("This study database has accounts: log in to open it."))
        form = QFormLayout()
        self.name_edit = QLineEdit(name)
        self.name_edit.setPlaceholderText("your account name")
        self.password_edit = password_edit()
        form.addRow("&User name", self.name_edit)
        form.addRow("&Password", self.password_edit)
        layout.addLayout(form)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Log in")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Quit")
        layout.addWidget(self.buttons)
        self.setMinimumWidth(420)
        (self.password_edit if name else self.name_edit).setFocus()

    def _connect_signals(self) -> None:
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def error_text(self) -> str:
        """What the dialog says under the fields ('' when nothing)."""
        return self.error.said()

    def accept(self) -> None:
        name = self.name_edit.text().strip()
        if not name:
            self._show_error("Type your user name.", self.name_edit)
            return
        try:
            with waiting():
                self.account = self.service.log_in(name, self.password_edit.text())
        except CoordinatorError as exc:  # LogInFailed says which it may say; a locked database too
            self.password_edit.clear()
            self._show_error(str(exc), self.password_edit)
            return
        super().accept()

    def _show_error(self, message: str, focus: QLineEdit) -> None:
        self.error.say(message)
        focus.setFocus(Qt.FocusReason.OtherFocusReason)


def log_in(service: Service, name: str = "", path: Path | None = None, parent: QWidget | None = None) -> Account | None:
    """Ask until the log-in succeeds (the service then acts as that account) or the user quits
    (None). Replaceable in tests, like the functions of ``ask``."""
    dialog = LogInDialog(service, name, path, parent)
    dialog.exec()
    return dialog.account
