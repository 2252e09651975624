"""The dashboard: what to do on a day, most urgent first, with counts at the top.

It reads its rows on a worker thread when first shown, then after every change to subjects,
when the day looked at moves and at midnight (while hidden, once when next shown),
so a large database never makes the window stutter; a reload that a newer one
overtook is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QSpinBox, QVBoxLayout, QWidget

from coordinator.dates import display
from coordinator.ui import access, ask, settings
from coordinator.ui.due_table import SECTION_TITLES, SECTIONS, DueTableModel, due_rows
from coordinator.ui.session import Session
from coordinator.ui.status import visit_look
from coordinator.ui.table import SearchProxy, list_view
from coordinator.ui.when_shown import BackgroundReader

if TYPE_CHECKING:
    from coordinator.ui.packet_job import PacketJob


class DueView(QWidget):
    """Signals:
        open_visit(str, str): the subject and visit of the row the user opened.
        loaded(): the rows for the current day are shown.
    """

    open_visit = Signal(str, str)
    loaded = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._build_ui()
        self._connect_signals()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.counts = QLabel()
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.title)
        layout.addWidget(self.counts)
        row = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: subject, visit, status…")
        self.filter.setClearButtonEnabled(True)
        row.addWidget(self.filter, 1)
        row.addWidget(QLabel("Upcoming:"))
        self.horizon = QSpinBox()
        self.horizon.setRange(0, 90)
        self.horizon.setSuffix(" days")
        self.horizon.setValue(settings.UPCOMING_DAYS.get())
        row.addWidget(self.horizon)
        self.print_day_button = QPushButton("Print day…")
        self.print_day_button.setToolTip("The day's packet: every requisition due and each day 1's dosing form (Ctrl+Shift+P)")
        row.addWidget(self.print_day_button)
        layout.addLayout(row)
        self.model = DueTableModel(self)
        self.proxy = SearchProxy(self.model, self)
        self.table = list_view(self.proxy)
        layout.addWidget(self.table, 1)
        self.empty = QLabel("Nothing overdue, due or coming up.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.hide()
        layout.addWidget(self.empty)

    def _connect_signals(self) -> None:
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.horizon.valueChanged.connect(self._on_horizon_value_changed)
        self.table.activated.connect(self._on_table_activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu_requested)
        self.print_day_button.clicked.connect(self.print_day)
        # read when first shown, so the window is up first (the read's worker thread would share
        # Python with it); hidden, it reloads when shown again
        self.reloader = BackgroundReader(self, self.session, self._read, self._on_rows_loaded, self._on_rows_failed,
                                         stale=True)
        self.session.changed.connect(self._on_session_changed)
        self.session.day_changed.connect(self.reloader.request)  # and at midnight: "Today, ..." moves on

    # -- loading --------------------------------------------------------------------------------------
    @property
    def loading(self) -> bool:
        return self.reloader.loading

    def refresh(self) -> None:
        self.reloader.refresh()

    def _on_session_changed(self, change) -> None:
        if change.subject_ids:  # not a print or an account: those change no visit
            self.reloader.request()

    def _read(self):
        day, days = self.session.day, self.horizon.value()
        return lambda service: (day, days, due_rows(service, day, days))

    def _on_rows_loaded(self, result) -> None:
        day, days, rows = result
        self.model.set_rows(rows)
        counts = {section: sum(1 for r in rows if r.section == section) for section in SECTIONS}
        is_today = day == self.session.service.today
        self.title.setText(f"<h2>{'Today, ' if is_today else ''}{display(day, weekday=True)}</h2>")
        parts = []
        for section in SECTIONS:
            look = visit_look(section)
            words = SECTION_TITLES[section] + (f" ({days} days)" if section == "upcoming" else "")
            parts.append(f"<span style='color:{look.colour}; font-size:large'>{look.symbol}</span> "
                         f"<b>{counts[section]}</b> {words}")
        self.counts.setText("&nbsp;&nbsp;&nbsp;".join(parts))
        self.empty.setVisible(not rows)
        self.loaded.emit()

    def _on_rows_failed(self, exc: Exception) -> None:
        ask.failure(self, "The dashboard could not be read.", exc)

    # -- handlers ---------------------------------------------------------------------------------------
    def _on_horizon_value_changed(self, value: int) -> None:
        settings.UPCOMING_DAYS.set(value)
        self.refresh()

    def row_menu(self, row) -> QMenu:
        """What a right-click on a row offers: open it, its requisition, its cycle's dosing form."""
        from coordinator.ui import form_preview
        menu = QMenu(self)
        menu.addAction("Open", lambda: self.open_visit.emit(row.subject, row.visit))
        menu.addAction("Lab requisition…", lambda: form_preview.requisition(self, self.session, row.subject, row.visit))
        ref = self.session.service.protocol.parse_visit(row.visit)
        if ref is not None and ref.kind == "cycle" and ref.day == 1:
            menu.addAction(f"Dosing form, cycle {ref.cycle}…",
                           lambda: form_preview.dosing(self, self.session, row.subject, ref.cycle))
        access.restrict(self.session.service, "print", *menu.actions()[1:])
        return menu

    def _on_table_context_menu_requested(self, pos) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.row_menu(self.proxy.row(index)).exec(self.table.viewport().mapToGlobal(pos))

    def _on_table_activated(self, index: QModelIndex) -> None:
        row = self.proxy.row(index)
        self.open_visit.emit(row.subject, row.visit)

    def print_day(self) -> PacketJob:
        """Make the day's packet on a worker thread, with a progress bar, then preview it; the
        ``PacketJob`` (its ``state``: the progress the worker reported)."""
        from coordinator.ui.packet_job import PacketJob  # the forms' libraries load when first used
        job = PacketJob(self.session, self.session.day, self)
        job.start()
        return job

    def rows(self) -> list:
        """The rows as shown (filtered and sorted), for tests and printing."""
        return self.proxy.rows()
