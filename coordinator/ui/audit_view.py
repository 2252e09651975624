"""The whole study's audit trail: every change, print, export and log-in, filtered, exported to
CSV, and its hash chain checked.

The trail is read on a worker thread each time the screen is shown (prints,
exports and log-ins change it without announcing a ``Change``) and after each
change while it is shown. Filters narrow what is shown; the CSV holds exactly
the rows shown, in their order, with the stored UTC time stamps and values.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from coordinator.errors import CoordinatorError
from coordinator.ui import ask
from coordinator.ui.audit_table import CHANGE, AuditFilter, AuditTableModel
from coordinator.ui.fields import ERROR_STYLE, DateEdit
from coordinator.ui.session import Session
from coordinator.ui.status import visit_look
from coordinator.ui.table import list_view
from coordinator.ui.when_shown import BackgroundReader

CSV_HEADER = ("seq", "at_utc", "user", "action", "subject", "field", "old", "new", "reason")
ALL = AuditFilter.ALL
CHANGE_WIDTH = 420
INTACT_STYLE, BROKEN_STYLE = f"color: {visit_look('done').colour};", ERROR_STYLE + " font-weight: bold;"


class AuditView(QWidget):
    """Signals:
        open_subject(str, str): the subject (and visit, or '') of the row the user opened.
        verified(object): the chain was checked (a ``ChainReport``).
    """

    open_subject = Signal(str, str)
    verified = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.service = session.service
        self.verifying = False
        self._build_ui()
        self._connect_signals()

    # -- building ------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search every column: a name, a value, a reason…")
        self.search.setClearButtonEnabled(True)
        top.addWidget(self.search, 1)
        self.verify_button = QPushButton("Verify chain")
        self.verify_button.setToolTip("Check that no row was changed, removed or inserted outside the app")
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("Save the rows shown (as filtered) as a CSV file, time stamps in UTC")
        top.addWidget(self.verify_button)
        top.addWidget(self.export_button)
        layout.addLayout(top)

        filters = QHBoxLayout()
        self.subject_edit = QLineEdit()
        self.subject_edit.setPlaceholderText("any subject")
        self.subject_edit.setClearButtonEnabled(True)
        self.subject_edit.setMaximumWidth(140)
        self.user_combo = QComboBox()
        self.action_combo = QComboBox()
        for combo in (self.user_combo, self.action_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.from_check = QCheckBox("From")
        self.from_edit = DateEdit(self.service.today)
        self.to_check = QCheckBox("to")
        self.to_edit = DateEdit(self.service.today)
        for check, edit in ((self.from_check, self.from_edit), (self.to_check, self.to_edit)):
            check.setToolTip("Tick to limit the rows to this day (local time) or after / before it")
            edit.setEnabled(False)
        self.clear_button = QPushButton("Clear filters")
        for label, widget in (("Subject", self.subject_edit), ("User", self.user_combo), ("Action", self.action_combo)):
            filters.addWidget(QLabel(label))
            filters.addWidget(widget)
            filters.addSpacing(8)
        for widget in (self.from_check, self.from_edit, self.to_check, self.to_edit):
            filters.addWidget(widget)
        filters.addSpacing(8)
        filters.addWidget(self.clear_button)
        filters.addStretch(1)
        self.count = QLabel("Loading…")
        filters.addWidget(self.count)
        layout.addLayout(filters)
        self._fill_combos([])

        self.model = AuditTableModel(self)
        self.proxy = AuditFilter(self.model, self)
        self.table = list_view(self.proxy)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # newest first
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        change = AuditTableModel.columns.index(CHANGE)
        header.setSectionResizeMode(change, QHeaderView.ResizeMode.Interactive)  # a record's values are long:
        header.resizeSection(change, CHANGE_WIDTH)  # cut (the tooltip has them), leaving the reason room
        layout.addWidget(self.table, 1)

        self.verify_result = QLabel()
        self.verify_result.setWordWrap(True)
        self.verify_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy the head hash
        self.verify_result.hide()
        layout.addWidget(self.verify_result)
        self.setFocusProxy(self.search)

    def _connect_signals(self) -> None:
        self.search.textChanged.connect(self._on_filter_changed)
        self.subject_edit.textChanged.connect(self._on_filter_changed)
        self.user_combo.currentIndexChanged.connect(self._on_filter_changed)
        self.action_combo.currentIndexChanged.connect(self._on_filter_changed)
        for check, edit in ((self.from_check, self.from_edit), (self.to_check, self.to_edit)):
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(self._on_filter_changed)
            edit.dateChanged.connect(self._on_filter_changed)
        self.clear_button.clicked.connect(self.clear_filters)
        self.table.activated.connect(self._on_table_activated)
        self.verify_button.clicked.connect(self.verify)
        self.export_button.clicked.connect(self.export_csv)
        # read each time the screen is shown (log-ins, backups and other windows on the file add rows
        # without news), and after each change while it is shown (its own export's row among them)
        self.reloader = BackgroundReader(self, self.session, lambda: lambda service: service.audit(),
                                         self._on_audit_loaded, self._on_audit_failed, stale=True, every_show=True)
        self.session.changed.connect(self.reloader.request)

    # -- reading -------------------------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self.reloader.loading

    def _on_audit_loaded(self, rows) -> None:
        self.model.set_rows(rows)
        self._fill_combos(rows)
        self._update_count()

    def _on_audit_failed(self, exc: Exception) -> None:
        self.count.setText("not read")
        ask.failure(self, "The audit trail could not be read.", exc)

    def _fill_combos(self, rows) -> None:
        """Users and actions seen in the trail; a choice made stays chosen when the rows are read again."""
        for combo, everyone, values, word in (
                (self.user_combo, "all users", {r.user for r in rows}, str),
                (self.action_combo, "all actions", {r.action for r in rows}, lambda a: a.replace("_", " "))):
            chosen = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(everyone, ALL)
            for value in sorted(values | ({chosen} if chosen is not ALL else set()), key=str.lower):
                combo.addItem(word(value), value)
            combo.setCurrentIndex(max(combo.findData(chosen), 0))
            combo.blockSignals(False)

    def rows(self) -> list:
        """The rows as shown: filtered, in the table's order."""
        return self.proxy.rows()

    # -- filtering -----------------------------------------------------------------------------------
    def clear_filters(self) -> None:
        for widget in (self.search, self.subject_edit, self.user_combo, self.action_combo, self.from_check, self.to_check):
            widget.blockSignals(True)
        self.search.clear()
        self.subject_edit.clear()
        self.user_combo.setCurrentIndex(0)
        self.action_combo.setCurrentIndex(0)
        self.from_check.setChecked(False)
        self.to_check.setChecked(False)
        for widget in (self.search, self.subject_edit, self.user_combo, self.action_combo, self.from_check, self.to_check):
            widget.blockSignals(False)
        self.from_edit.setEnabled(False)
        self.to_edit.setEnabled(False)
        self._on_filter_changed()

    def _on_filter_changed(self, *_args) -> None:
        self.proxy.set_filters(self.subject_edit.text(), self.user_combo.currentData(), self.action_combo.currentData(),
                               self.from_edit.value() if self.from_check.isChecked() else None,
                               self.to_edit.value() if self.to_check.isChecked() else None, self.search.text())
        self._update_count()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{total} rows" if shown == total else f"{shown} of {total} rows")

    # -- opening a subject ---------------------------------------------------------------------------
    def _on_table_activated(self, index: QModelIndex) -> None:
        row = self.proxy.row(index)
        if row.subject_id:
            self.open_subject.emit(row.subject_id, _visit_of(row.field))

    # -- export --------------------------------------------------------------------------------------
    def export_csv(self) -> None:
        rows = self.rows()
        if not rows:
            ask.error(self, "No rows are shown: there is nothing to export. Clear the filters first.")
            return
        suggested = str(self.session.path.parent / f"audit-trail-{self.service.today.isoformat()}.csv")
        name = ask.save_file(self, "Export the audit trail", suggested, "CSV files (*.csv)")
        if not name:
            return
        target = Path(name)
        if not target.suffix:
            target = target.with_suffix(".csv")
        try:  # the file takes its name only with the export's audit row (an existing one is kept otherwise)
            change = self.service.save_audit_csv(target, csv_bytes(rows), len(rows))
        except CoordinatorError as exc:
            ask.error(self, f"Nothing was exported: {exc}")
            return
        self.session.notify(change)
        ask.info(self, f"Exported {len(rows)} rows of the audit trail to {target}.")

    # -- verifying -----------------------------------------------------------------------------------
    def verify(self) -> None:
        """Walk the whole hash chain on a worker thread (a long trail takes seconds)."""
        if self.verifying:
            return
        self.verifying = True
        self.verify_button.setEnabled(False)
        self.verify_result.setStyleSheet("")
        self.verify_result.setText("Checking the audit trail's hash chain…")
        self.verify_result.show()
        self.session.run_in_background(self, lambda service: service.verify_audit(), self._on_verify_done,
                                        self._on_verify_failed)

    def _on_verify_done(self, report) -> None:
        self.verifying = False
        self.verify_button.setEnabled(True)
        self.verify_result.setStyleSheet(INTACT_STYLE if report.ok else BROKEN_STYLE)
        self.verify_result.setText(("✓ " if report.ok else "▲ ") + report.summary())
        self.verified.emit(report)

    def _on_verify_failed(self, exc: Exception) -> None:
        self.verifying = False
        self.verify_button.setEnabled(True)
        self.verify_result.hide()
        ask.failure(self, "The audit trail could not be checked.", exc)


def csv_bytes(rows) -> bytes:
    """The rows as CSV, UTF-8 with a byte-order mark (Excel then reads the accents)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow([r.seq, r.at, r.user, r.action, r.subject_id or "", r.field or "",
                         _cell(r.old), _cell(r.new), _cell(r.reason)])
    return out.getvalue().encode("utf-8-sig")


def _cell(value: str | None) -> str:
    """A typed value that a spreadsheet would run as a formula ('=HYPERLINK(…)') starts with a
    quote, as OWASP advises; dates and numbers ('-2', '2025-03-04') stay as they are."""
    if not value:
        return ""
    if value[0] in "=+@\t\r" or (value[0] == "-" and not _number(value)):
        return "'" + value
    return value


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _visit_of(field: str | None) -> str:
    """The visit a row is about ('visits.C1D8', 'procedures.C1D8.cbc', 'signature.C1D8'), or ''."""
    parts = (field or "").split(".")
    return parts[1] if len(parts) > 1 and parts[0] in ("visits", "procedures", "signature") else ""
