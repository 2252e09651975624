"""The subject registry: find anyone in two keystrokes, sort by any column, open with Enter."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from coordinator.ui import ask
from coordinator.ui.session import Session
from coordinator.ui.subject_table import SubjectTableModel
from coordinator.ui.table import SearchProxy, list_view
from coordinator.ui.when_shown import BackgroundReader


class SubjectsView(QWidget):
    """Signals:
        open_subject(str): the subject the user opened.
        add_subject(): the user asked to add one.
    """

    open_subject = Signal(str)
    add_subject = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._build_ui()
        self._connect_signals()

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a subject: id, initials, status… (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        row.addWidget(self.search, 1)
        self.add_button = QPushButton("Add subject…")
        row.addWidget(self.add_button)
        layout.addLayout(row)
        self.count = QLabel("Loading…")
        layout.addWidget(self.count)
        self.model = SubjectTableModel(self)
        self.proxy = SearchProxy(self.model, self)
        self.table = list_view(self.proxy)
        layout.addWidget(self.table, 1)
        self.setFocusProxy(self.search)

    def _connect_signals(self) -> None:
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.table.activated.connect(self._on_table_activated)
        self.add_button.clicked.connect(self.add_subject)
        # read when first shown (on a worker thread: 10,000 subjects take a second), then after news while shown
        self.reloader = BackgroundReader(self, self.session, self._read, self._on_subjects_loaded,
                                         self._on_subjects_failed, stale=True)
        self.session.changed.connect(self._on_session_changed)
        self.session.day_changed.connect(self.reloader.request)

    @property
    def loading(self) -> bool:
        return self.reloader.loading

    def _on_session_changed(self, change) -> None:
        if change.subject_ids:  # not a print or an account: those change no subject
            self.reloader.request()

    def rows(self) -> list:
        """The subjects as shown (filtered and sorted), for printing."""
        return self.proxy.rows()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _read(self):
        day = self.session.day
        return lambda service: service.subjects(day)

    def _on_subjects_loaded(self, rows) -> None:
        self.model.set_rows(rows)
        self._update_count()

    def _on_subjects_failed(self, exc: Exception) -> None:
        ask.failure(self, "The subject list could not be read.", exc)

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{total} subjects" if shown == total else f"{shown} of {total} subjects")

    def _on_search_text_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._update_count()
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def _on_search_return_pressed(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid() and self.proxy.rowCount():
            index = self.proxy.index(0, 0)
        if index.isValid():
            self._on_table_activated(index)

    def _on_table_activated(self, index: QModelIndex) -> None:
        self.open_subject.emit(self.proxy.row(index).id)
