"""A read-only table model over a list of frozen dataclasses, with its columns declared once.

Each column says how a row shows (text), sorts (a key) and, optionally, how it
is coloured and explained. The screens' models (``DueTableModel``,
``SubjectTableModel``...) are one ``columns`` list each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NO_PARENT = QModelIndex()
RESIZE_SAMPLE_ROWS = 300  # columns size to the widest of this many rows, not all of them


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[object], str]
    sort: Callable[[object], object] | None = None
    colour: Callable[[object], str | None] | None = None
    tip: Callable[[object], str] | None = None
    align_right: bool = False


class RowTableModel(QAbstractTableModel):
    columns: list[Column] = []

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_rows(self, rows: list) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if self._sort is not None:
            self._sort_rows(*self._sort)
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorted here, in Python with one key per row: a proxy would call ``data()`` for every
        comparison, seconds on 10,000 subjects."""
        if not 0 <= column < len(self.columns):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        old_rows = [self._rows[i.row()] for i in before]
        self._sort_rows(column, order)
        position = {id(row): n for n, row in enumerate(self._rows)}
        self.changePersistentIndexList(before, [self.index(position[id(row)], i.column()) for row, i in zip(old_rows, before)])
        self.layoutChanged.emit()

    def _sort_rows(self, column: int, order: Qt.SortOrder) -> None:
        c = self.columns[column]
        key = c.sort or c.text
        self._rows.sort(key=lambda row: _comparable(key(row)), reverse=order == Qt.SortOrder.DescendingOrder)

    def rows(self) -> list:
        return list(self._rows)

    def row(self, index: QModelIndex):
        return self._rows[index.row()]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            return self.columns[section].title
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._rows)) or not (0 <= index.column() < len(self.columns)):
            return None
        row, column = self._rows[index.row()], self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == SORT_ROLE:
            key = column.sort(row) if column.sort else column.text(row)
            return key if isinstance(key, (int, float, str)) else str(key)
        if role == Qt.ItemDataRole.ForegroundRole and column.colour:
            colour = column.colour(row)
            return QBrush(QColor(colour)) if colour else None
        if role == Qt.ItemDataRole.ToolTipRole and column.tip:
            return column.tip(row) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _comparable(key):
    """Numbers before text, so a column of mixed keys still sorts."""
    return (0, key, "") if isinstance(key, (int, float)) else (1, 0, str(key))


class SearchProxy(QSortFilterProxyModel):
    """Filters rows for the search box (any column, ignoring case); sorting is the source
    model's, which the proxy's order follows."""

    def __init__(self, source: RowTableModel, parent=None):
        super().__init__(parent)
        self.setSourceModel(source)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)

    def row(self, index: QModelIndex):
        return self.sourceModel().row(self.mapToSource(index))

    def rows(self) -> list:
        """The rows as shown: filtered, in the table's order (what is printed or exported)."""
        return [self.row(self.index(i, 0)) for i in range(self.rowCount())]


def list_view(model, sort_column: int | None = 0) -> QTableView:
    """A read-only list of rows: whole-row selection, sized from a sample of rows; sortable by
    any column unless ``sort_column`` is None (lists kept in the protocol's or the date order)."""
    table = QTableView()
    table.setModel(model)
    if sort_column is not None:
        table.setSortingEnabled(True)
        table.sortByColumn(sort_column, Qt.SortOrder.AscendingOrder)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setResizeContentsPrecision(RESIZE_SAMPLE_ROWS)  # 10,000 rows stay quick
    header.setStretchLastSection(True)
    return table
