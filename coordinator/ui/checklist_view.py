"""One visit: its date, its procedures from the Schedule of Assessments, ticked off as they happen.

Space marks the selected item done, N asks why it was not done, A marks it not
applicable, Delete takes a tick back; a changed or cleared tick is a correction
and asks for a reason (the audit trail keeps it). Every tick is saved at once, each in its own transaction.
"""

from __future__ import annotations

import datetime as dt
from html import escape

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from coordinator.dates import display, display_window
from coordinator.errors import CoordinatorError, CorrectionNeedsReason
from coordinator.ui import access, ask
from coordinator.ui.checklist_table import ChecklistTableModel
from coordinator.ui.table import list_view
from coordinator.ui.fields import ERROR_STYLE, DateEdit
from coordinator.ui.session import Session
from coordinator.ui.status import visit_look
from coordinator.ui.times import local_time


class ChecklistView(QWidget):
    """Signals:
        missed_requested(): the user wants to mark the visit missed (the subject screen asks why).
        unscheduled_requested(): the user wants to add an unscheduled visit.
        sign_requested(): the user wants to sign off the visit (the subject screen asks for the password).
    """

    missed_requested = Signal()
    unscheduled_requested = Signal()
    sign_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.service = session.service
        self.subject_id: str | None = None
        self.visit = None  # the TimelineVisit shown
        self._subject = None  # the subject as last read, with the visit's ticks
        self._signatures: list = []  # the visit's sign-offs, as last read
        self._shown_key: tuple[str, str] | None = None
        self._filled: tuple | None = None  # the date and notes the fields were last filled with
        self._build_ui()
        self._connect_signals()
        self.show_visit(None, None)

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        self.signed = QLabel()  # the visit's sign-offs, if any
        self.signed.setTextFormat(Qt.TextFormat.RichText)
        self.signed.setWordWrap(True)
        self.signed.hide()
        layout.addWidget(self.signed)
        row = QHBoxLayout()
        row.addWidget(QLabel("Visit date"))
        self.date_edit = DateEdit()
        row.addWidget(self.date_edit)
        self.record_button = QPushButton("Record visit")
        self.record_button.setToolTip("Save the visit's date and notes")
        self.missed_button = QPushButton("Missed…")
        self.unscheduled_button = QPushButton("Unscheduled visit…")
        self.sign_button = QPushButton("Sign off…")
        for button in (self.record_button, self.missed_button, self.unscheduled_button, self.sign_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        notes_row = QHBoxLayout()
        notes_row.addWidget(QLabel("Notes"))
        self.notes = QLineEdit()
        self.notes.setPlaceholderText("visit notes (saved with Record visit)")
        notes_row.addWidget(self.notes, 1)
        layout.addLayout(notes_row)

        self.model = ChecklistTableModel(self)
        self.table = list_view(self.model, sort_column=None)  # the protocol's category order
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # long procedure names wrap into the tooltip
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(3, 220)
        layout.addWidget(self.table, 1)

        buttons = QHBoxLayout()
        self.progress = QLabel()
        buttons.addWidget(self.progress, 1)
        self.done_button = QPushButton("✓ Done (Space)")
        self.not_done_button = QPushButton("✕ Not done… (N)")
        self.na_button = QPushButton("– Not applicable (A)")
        self.clear_button = QPushButton("Clear… (Del)")
        self.clear_button.setToolTip("Take back a tick made on the wrong item (asks why)")
        self.request_button = QPushButton("Request")
        self.request_button.setToolTip("Order an on-request item (such as a marrow to confirm CR) for this visit")
        for button in (self.done_button, self.not_done_button, self.na_button, self.clear_button, self.request_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        # what changes the visit: on while a visit is shown, off for a role that may not (_restrict_writes)
        self.write_controls = (self.date_edit, self.notes, self.record_button, self.missed_button, self.done_button,
                               self.not_done_button, self.na_button, self.clear_button, self.request_button)

    def _connect_signals(self) -> None:
        self.record_button.clicked.connect(self.record_visit)
        self.missed_button.clicked.connect(self.missed_requested)
        self.unscheduled_button.clicked.connect(self.unscheduled_requested)
        self.sign_button.clicked.connect(self.sign_requested)
        self.done_button.clicked.connect(lambda: self.tick_selected("done"))
        self.not_done_button.clicked.connect(lambda: self.tick_selected("not_done"))
        self.na_button.clicked.connect(lambda: self.tick_selected("not_applicable"))
        self.request_button.clicked.connect(lambda: self.tick_selected("requested"))
        self.clear_button.clicked.connect(self.clear_selected)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.tick_shortcuts: list[QShortcut] = []  # off for a role that may not change visits (_restrict_writes)
        for key, status in (("Space", "done"), ("N", "not_done"), ("A", "not_applicable")):
            shortcut = QShortcut(QKeySequence(key), self.table)
            self.tick_shortcuts.append(shortcut)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda status=status: self.tick_selected(status))
        clear = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table)
        clear.setContext(Qt.ShortcutContext.WidgetShortcut)
        clear.activated.connect(self.clear_selected)
        self.tick_shortcuts.append(clear)

    # -- showing -------------------------------------------------------------------------------------
    def show_visit(self, subject_id: str | None, visit, subject=None, signatures=()) -> None:
        """Show ``visit`` (a ``TimelineVisit``) of ``subject_id``; None clears the panel. Shown again
        after a save, the same visit keeps a date or notes typed but not yet saved. ``subject`` and
        ``signatures`` (the subject's sign-offs): as the subject screen just read them."""
        key = (subject_id, visit.visit.code) if visit is not None else None
        same_visit = key is not None and key == self._shown_key
        self.subject_id, self.visit, self._shown_key = subject_id, visit, key
        enabled = visit is not None
        for widget in (*self.write_controls, self.table):
            widget.setEnabled(enabled)
        self.unscheduled_button.setEnabled(subject_id is not None)
        if visit is None:
            self.title.setText("<i>Choose a visit on the timeline or in the list.</i>")
            self.model.set_rows([])
            self.progress.setText("")
            self._signatures = []
            self._show_signatures()
            self._restrict_writes()
            return
        v = visit.visit
        look = visit_look(visit.status)
        window = display_window(v.window_start, v.window_end)
        flag = " <b>! out of window</b>" if v.out_of_window else ""
        self.title.setText(f"<h3>{v.code} · {v.label}</h3>Target {display(v.target, weekday=True)} · window {window} · "
                           f"<span style='color:{look.colour}'>{look.symbol} {look.word}</span>{flag}")
        self._subject = subject
        self._signatures = [s for s in signatures if s.visit == v.code]
        record = subject.visits.get(v.code)
        # a visit not yet recorded is recorded on the day it happens: today, whatever day is looked at
        filled = (v.date or self.service.today, record.notes if record else "")
        typed = (self.date_edit.value(), self.notes.text())
        if not (same_visit and typed != self._filled):  # keep what the user typed and has not saved
            self.date_edit.set_value(filled[0])
            self.notes.setText(filled[1])
            self._filled = filled
        first_dose = v.kind == "cycle" and v.cycle == 1 and v.day == 1
        self.notes.setEnabled(not first_dose)  # cycle 1 day 1 is the first-dose fact: it keeps no notes
        self.notes.setPlaceholderText("cycle 1 day 1 keeps no notes: use the next visit's" if first_dose
                                      else "visit notes (saved with Record visit)")
        self.record_button.setText("Change date" if v.date else ("Record first dose" if first_dose else "Record visit"))
        self.missed_button.setEnabled(not v.missed and v.kind != "unscheduled" and not first_dose)
        self._show_signatures()
        self._restrict_writes()
        self._load_items()

    def _restrict_writes(self) -> None:
        """A role that may not change visits (a monitor) reads the checklist but cannot tick it."""
        access.restrict(self.service, "subjects", *self.write_controls, self.unscheduled_button, *self.tick_shortcuts)

    def can_sign(self) -> tuple[bool, str]:
        """Whether the visit shown can be signed off here, and if not, why (the button's tooltip)."""
        if self.visit is None:
            return False, "Choose a visit to sign off"
        if self.service.account is None:
            return False, "Signing needs accounts: an investigator logs in, then signs off visits"
        if not self.service.may("sign"):
            return False, f"Only an investigator signs off visits ({self.service.account.name} is a {self.service.account.role})"
        if self.visit.visit.date is None and not self.visit.visit.missed:
            return False, "The visit is not recorded yet: there is nothing to sign"
        return True, "Sign off this visit with your password (kept in the audit trail)"

    def _show_signatures(self) -> None:
        """The visit's sign-offs: who, when (local time) and what the signature means."""
        allowed, why = self.can_sign()
        self.sign_button.setEnabled(allowed)
        self.sign_button.setToolTip(why)
        signatures = self._signatures
        self.signed.setText("<br>".join(
            f"<span style='color:{visit_look('done').colour}; font-size:large'>✍</span> Signed by "
            f"<b>{escape(s.display_name)}</b> ({escape(s.user)}) on {local_time(s.at, seconds=False)} — {escape(s.meaning)}"
            + (f" <b style='{ERROR_STYLE}'>▲ changed since: sign again</b>" if s.changed_since else "")
            for s in signatures))
        self.signed.setToolTip("<br>".join(f"{s.at} (UTC)" for s in signatures))
        self.signed.setVisible(bool(signatures))

    def _load_items(self) -> None:
        selected = self.table.currentIndex().row()
        checklist = self.service.checklist(self.subject_id, self.visit.visit.code, subject=self._subject)
        self.model.set_rows(checklist.items)
        progress = checklist.progress
        self.progress.setText(f"<b>{progress.done} of {progress.total} done</b>" if progress.total else "nothing to do")
        if self.model.rowCount():
            self.table.selectRow(min(max(selected, 0), self.model.rowCount() - 1))

    # -- writing -------------------------------------------------------------------------------------
    def tick_selected(self, status: str) -> None:
        index = self.table.currentIndex()
        if self.visit is None or not index.isValid():
            return
        item = self.model.row(index)
        why = ""
        if status == "not_done":
            why = ask.text(self, "Not done", f"Why was “{item.label}” not done?")
            if not why:
                return
        saved = self._write(lambda reason: self.service.tick(self.subject_id, self.visit.visit.code, item.id, status,
                                                              why=why, reason=reason), f"“{item.label}” is already recorded.")
        if saved and status == "done":  # on to the next item, ready for the next Space
            self.table.selectRow(min(index.row() + 1, self.model.rowCount() - 1))

    def clear_selected(self) -> None:
        """Take back a tick made on the wrong item (a correction: asks why)."""
        index = self.table.currentIndex()
        if self.visit is None or not index.isValid():
            return
        item = self.model.row(index)
        if (self.visit.visit.code, item.id) not in self._subject.procedures:  # nothing ticked to take back
            return
        self._write(lambda reason: self.service.clear_tick(self.subject_id, self.visit.visit.code, item.id, reason),
                    f"Clear the tick on “{item.label}”?")

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        if self.done_button.isEnabled() and self.model.row(index).status not in ("done", "not_applicable"):
            self.tick_selected("done")

    def record_visit(self) -> None:
        if self.visit is None:
            return
        day: dt.date = self.date_edit.value()
        code = self.visit.visit.code
        self._write(lambda reason: self.service.record_visit(self.subject_id, code, day, self.notes.text().strip(),
                                                              reason=reason), f"{code} already has a date.")

    def _write(self, write, what: str) -> bool:
        """Run a write; a correction asks for its reason and tries once more; a refusal is shown.
        True when it was saved."""
        try:
            try:
                change = write(None)
            except CorrectionNeedsReason as exc:
                reason = ask.reason(self, f"{what}\n{exc.problem.replace(' (--reason)', '')}")
                if reason is None:
                    return False
                change = write(reason)
        except CoordinatorError as exc:
            ask.error(self, f"Not saved: {exc}")
            return False
        self.session.notify(change)
        return True
