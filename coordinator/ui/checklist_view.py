"""One visit: its date, its procedures from the Schedule of Assessments, ticked off as they happen.

Space marks the selected item done, N asks why it was not done, A marks it not
applicable; a changed tick is a correction and asks for a reason (the audit
trail keeps it). Every tick is saved at once, each in its own transaction.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QTableView, QVBoxLayout, QWidget,
)

from coordinator.dates import display
from coordinator.errors import CoordinatorError, CorrectionNeedsReason
from coordinator.ui import ask
from coordinator.ui.checklist_table import ChecklistTableModel
from coordinator.ui.form import DateEdit
from coordinator.ui.session import Session
from coordinator.ui.status import visit_look


class ChecklistView(QWidget):
    """Signals:
        missed_requested(): the user wants to mark the visit missed (the subject screen asks why).
        unscheduled_requested(): the user wants to add an unscheduled visit.
    """

    missed_requested = Signal()
    unscheduled_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.service = session.service
        self.subject_id: str | None = None
        self.visit = None  # the TimelineVisit shown
        self._build_ui()
        self._connect_signals()
        self.show_visit(None, None)

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        layout.addWidget(self.title)
        row = QHBoxLayout()
        row.addWidget(QLabel("Visit date"))
        self.date_edit = DateEdit()
        row.addWidget(self.date_edit)
        self.record_button = QPushButton("Record visit")
        self.record_button.setToolTip("Save the visit's date and notes")
        self.missed_button = QPushButton("Missed…")
        self.unscheduled_button = QPushButton("Unscheduled visit…")
        for button in (self.record_button, self.missed_button, self.unscheduled_button):
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
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
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
        self.request_button = QPushButton("Request")
        self.request_button.setToolTip("Order an on-request item (such as a marrow to confirm CR) for this visit")
        for button in (self.done_button, self.not_done_button, self.na_button, self.request_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)

    def _connect_signals(self) -> None:
        self.record_button.clicked.connect(self.record_visit)
        self.missed_button.clicked.connect(self.missed_requested)
        self.unscheduled_button.clicked.connect(self.unscheduled_requested)
        self.done_button.clicked.connect(lambda: self.tick_selected("done"))
        self.not_done_button.clicked.connect(lambda: self.tick_selected("not_done"))
        self.na_button.clicked.connect(lambda: self.tick_selected("not_applicable"))
        self.request_button.clicked.connect(lambda: self.tick_selected("requested"))
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        for key, status in (("Space", "done"), ("N", "not_done"), ("A", "not_applicable")):
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda status=status: self.tick_selected(status))

    # -- showing -------------------------------------------------------------------------------------
    def show_visit(self, subject_id: str | None, visit) -> None:
        """Show ``visit`` (a ``TimelineVisit``) of ``subject_id``; None clears the panel."""
        self.subject_id, self.visit = subject_id, visit
        enabled = visit is not None
        for widget in (self.date_edit, self.record_button, self.missed_button, self.notes, self.table,
                       self.done_button, self.not_done_button, self.na_button, self.request_button):
            widget.setEnabled(enabled)
        self.unscheduled_button.setEnabled(subject_id is not None)
        if visit is None:
            self.title.setText("<i>Choose a visit on the timeline or in the list.</i>")
            self.model.set_rows([])
            self.progress.setText("")
            return
        v = visit.visit
        look = visit_look(visit.status)
        window = display(v.window_start) if v.window_start == v.window_end else \
            f"{display(v.window_start)} – {display(v.window_end)}"
        flag = " <b>! out of window</b>" if v.out_of_window else ""
        self.title.setText(f"<h3>{v.code} · {v.label}</h3>Target {display(v.target, weekday=True)} · window {window} · "
                           f"<span style='color:{look.colour}'>{look.symbol} {look.word}</span>{flag}")
        self.date_edit.set_value(v.date or self.session.day)  # a late visit is recorded on the day it happens
        subject = self.service.subject(subject_id)
        record = subject.visits.get(v.code)
        self.notes.setText(record.notes if record else "")
        self.record_button.setText("Change date" if v.date else "Record visit")
        self.missed_button.setEnabled(not v.missed and v.kind != "unscheduled")
        self._load_items()

    def _load_items(self) -> None:
        selected = self.table.currentIndex().row()
        checklist = self.service.checklist(self.subject_id, self.visit.visit.code)
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
        self._write(lambda reason: self.service.tick(self.subject_id, self.visit.visit.code, item.id, status,
                                                      why=why, reason=reason), f"“{item.label}” is already recorded.")
        self.table.selectRow(min(index.row() + 1, self.model.rowCount() - 1) if status == "done" else index.row())

    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        if self.model.row(index).status not in ("done", "not_applicable"):
            self.tick_selected("done")

    def record_visit(self) -> None:
        day: dt.date = self.date_edit.value()
        code = self.visit.visit.code
        self._write(lambda reason: self.service.record_visit(self.subject_id, code, day, self.notes.text().strip(),
                                                              reason=reason), f"{code} already has a date.")

    def _write(self, write, what: str) -> None:
        """Run a write; a correction asks for its reason and tries once more; a refusal is shown."""
        try:
            try:
                change = write(None)
            except CorrectionNeedsReason as exc:
                reason = ask.reason(self, f"{what}\n{exc.problem.replace(' (--reason)', '')}")
                if reason is None:
                    return
                change = write(reason)
        except CoordinatorError as exc:
            ask.error(self, f"Not saved: {exc}")
            return
        self.session.notify(change)
