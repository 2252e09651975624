"""An investigator signs off a recorded visit: the meaning of the signature, and their password
again (the signature's second component, 21 CFR 11.200). The service checks the role, the
password and that the visit is recorded; its refusals show in the dialog, which stays open."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QDialogButtonBox

from coordinator.dates import display
from coordinator.errors import InputError, LogInFailed
from coordinator.service import Change
from coordinator.ui.fields import waiting
from coordinator.ui.form import FormDialog

DEFAULT_MEANING = "reviewed and approved"


class SignDialog(FormDialog):
    def __init__(self, session, subject_id: str, visit, parent=None):
        """``visit``: the ``PlannedVisit`` to sign."""
        self.subject_id = subject_id
        self.visit = visit
        account = session.service.account
        # the date in one piece: non-breaking spaces and hyphens (a label wraps at a hyphen)
        when = display(visit.date, weekday=True).replace(" ", "\u00a0").replace("-", "\u2011") if visit.date else "missed"
        intro = (f"<b>Subject {subject_id}</b> · visit <b>{visit.code}</b> {visit.label} · {when}<br>"
                 f"Signing as <b>{escape(account.display_name)}</b> ({escape(account.name)}). The signature, its meaning and "
                 "the time are kept with the visit and in the audit trail.")
        # the subject is named inside the dialog, never in its title (window titles show in task bars)
        super().__init__(session, "Sign off visit", intro, parent)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setText("Sign")
        self.setMinimumWidth(520)
        self.password.setFocus()

    def _build_fields(self) -> None:
        self.text_field("meaning", "Meaning", DEFAULT_MEANING, hint="what your signature says about this visit")
        self.password = self.password_field("password", "Your password", hint="the one you log in with: it confirms it is you")

    def submit(self, values, reason) -> Change:
        try:
            with waiting():  # the password check takes a moment (scrypt)
                return self.service.sign_visit(self.subject_id, self.visit.code, self.password.text(), values["meaning"])
        except LogInFailed as exc:
            self.password.clear()
            raise InputError(self.subject_id, "password", str(exc)) from None
