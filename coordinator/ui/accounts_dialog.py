"""Accounts, for administrators: add one, disable or enable it, set its password.

Accounts are never deleted and their names never reused, so the audit trail always names
someone. In single-user mode the dialog adds the first account, an admin: from then on everyone
logs in, and this window carries on as that admin.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from coordinator.accounts import MIN_PASSWORD, ROLES
from coordinator.errors import CoordinatorError, InputError
from coordinator.service import Change
from coordinator.ui import ask
from coordinator.ui.access import ROLE_WORDS
from coordinator.ui.account_table import AccountTableModel
from coordinator.ui.form import FormDialog
from coordinator.ui.session import Session
from coordinator.ui.table import list_view

PASSWORD_HINT = f"at least {MIN_PASSWORD} characters; a phrase of a few words is easy to remember and hard to guess"
FIRST_ADMIN_WARNING = (
    "<b>This database has no accounts yet (single-user mode).</b> The first account is an administrator. "
    "Once it is added, <b>everyone must log in</b> to open this database, in this window and on the command line, "
    "and this window carries on as that administrator, who manages accounts and settings but does not change "
    "subjects or visits: add an account for each coordinator next.")


def add_password_fields(dialog: FormDialog) -> None:
    """A new password, typed twice."""
    dialog.password_field("password", "Password", PASSWORD_HINT)
    dialog.password_field("password_again", "Password again")


def typed_password(dialog: FormDialog) -> str:
    """The password as typed, not trimmed (a space is part of a password), once both agree."""
    password = dialog.field("password").text()
    if password != dialog.field("password_again").text():
        raise InputError(None, "password_again", "the two passwords differ")
    return password


class AddAccountDialog(FormDialog):
    def __init__(self, session: Session, parent: QWidget | None = None):
        self.first = session.service.single_user
        super().__init__(session, "Add the first account" if self.first else "Add an account",
                         FIRST_ADMIN_WARNING if self.first else "", parent)
        self.intro.setTextFormat(Qt.TextFormat.RichText)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("Add account")
        self.setMinimumWidth(500)

    def _build_fields(self) -> None:
        self.text_field("name", "Account name", hint="what they type to log in: letters, digits, . _ -; never reused")
        self.text_field("display name", "Display name", placeholder="the person's full name",
                        hint="as the window shows it and signatures print it")
        roles = ["admin"] if self.first else list(ROLES)
        combo = self.choice_field("role", "Role", [(r, f"{r}: {ROLE_WORDS[r]}") for r in roles],
                                  value="admin" if self.first else "coordinator")
        combo.setEnabled(not self.first)
        add_password_fields(self)

    def submit(self, values: dict, reason: str | None) -> Change:
        return self.service.add_account(values["name"], values["role"], typed_password(self),
                                        values["display name"] or None)


class SetPasswordDialog(FormDialog):
    """Someone else's password (an admin), or one's own, which asks for the current one first."""

    def __init__(self, session: Session, name: str, parent: QWidget | None = None):
        self.name = name
        account = session.service.account
        self.own = account is not None and account.name == name
        super().__init__(session, "Change my password" if self.own else f"Set the password of {name}", "", parent)
        self.setMinimumWidth(500)

    def _build_fields(self) -> None:
        if self.own:
            self.password_field("current password", "Current password")
        add_password_fields(self)

    def submit(self, values: dict, reason: str | None) -> Change:
        current = self.field("current password").text() if self.own else None
        return self.service.set_password(self.name, typed_password(self), current)


class AccountsDialog(QDialog):
    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.service = session.service
        self.setWindowTitle("Accounts")
        self.resize(760, 420)
        self._build_ui()
        self._connect_signals()
        self.refresh()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setTextFormat(Qt.TextFormat.RichText)
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.model = AccountTableModel(self)
        self.table = list_view(self.model)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add account…")
        self.password_button = QPushButton("Set password…")
        self.disable_button = QPushButton("Disable")
        self.enable_button = QPushButton("Enable")
        for button in (self.add_button, self.password_button, self.disable_button, self.enable_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        layout.addWidget(self.buttons)

    def _connect_signals(self) -> None:
        self.add_button.clicked.connect(self._on_add_clicked)
        self.password_button.clicked.connect(self._on_password_clicked)
        self.disable_button.clicked.connect(self._on_disable_clicked)
        self.enable_button.clicked.connect(self._on_enable_clicked)
        self.buttons.rejected.connect(self.reject)
        self.table.selectionModel().currentRowChanged.connect(lambda _current, _previous: self._update_buttons())
        self.table.activated.connect(lambda _index: self._on_password_clicked())

    # -- showing ---------------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        single = self.service.single_user
        if single:
            self.intro.setText(FIRST_ADMIN_WARNING)
        else:
            me = self.service.account
            self.intro.setText(f"Logged in as <b>{escape(me.display_name)}</b> ({escape(me.name)}). Accounts are never "
                               "deleted and their names never reused: disable an account instead, and the audit trail "
                               "still names who did what.")
        self.add_button.setText("Add the first account (an administrator)…" if single else "Add account…")
        select = select or self.selected_name()
        self.model.set_rows([] if single else self.service.accounts())
        names = [a.name for a in self.model.rows()]
        if select in names:
            self.table.selectRow(names.index(select))
        self._update_buttons()

    def selected(self):
        index = self.table.currentIndex()
        return self.model.row(index) if index.isValid() else None

    def selected_name(self) -> str | None:
        account = self.selected()
        return account.name if account is not None else None

    def _update_buttons(self) -> None:
        account = self.selected()
        self.password_button.setEnabled(account is not None)
        self.disable_button.setEnabled(account is not None and account.active)
        self.enable_button.setEnabled(account is not None and not account.active)

    # -- actions ---------------------------------------------------------------------------------
    def _on_add_clicked(self) -> None:
        dialog = AddAccountDialog(self.session, self)
        if dialog.exec() and dialog.change:
            self.refresh(select=dialog.values()["name"])

    def _on_password_clicked(self) -> None:
        account = self.selected()
        if account is not None and SetPasswordDialog(self.session, account.name, self).exec():
            ask.info(self, f"The password of {account.name} is set. Tell them in person, not by e-mail.")
            self.refresh()

    def _on_disable_clicked(self) -> None:
        account = self.selected()
        if account is None or not ask.confirm(
                self, f"Disable {account.name} ({account.display_name})? They can no longer log in; what they did "
                "stays in the audit trail under their name.", "Disable"):
            return
        self._write(lambda: self.service.disable_account(account.name))

    def _on_enable_clicked(self) -> None:
        account = self.selected()
        if account is not None:
            self._write(lambda: self.service.enable_account(account.name))

    def _write(self, write) -> None:
        try:
            self.session.notify(write())
        except CoordinatorError as exc:  # the last active admin, an account disabled meanwhile...
            ask.error(self, f"Not saved: {exc}")
        self.refresh()
