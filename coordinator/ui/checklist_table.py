"""A visit's checklist rows: the protocol's procedures for that visit, grouped by category."""

from __future__ import annotations

from coordinator.dates import display
from coordinator.ui.status import item_look
from coordinator.ui.table import Column, RowTableModel


def _status(item) -> str:
    look = item_look(item.status)
    text = f"{look.symbol} {look.word}"
    if item.repeat:
        text += " (repeat)"
    return text


def _detail(item) -> str:
    parts = []
    if item.condition:
        who = item.condition[:1].lower() + item.condition[1:]
        parts.append(f"only for {who}" if item.status != "not_applicable" else f"not applicable: only for {who}")
    if item.reason:
        parts.append(f"reason: {item.reason}")
    if item.date:
        parts.append(f"on {display(item.date)}")
    if item.note:
        parts.append(item.note)
    return "; ".join(parts)


class ChecklistTableModel(RowTableModel):
    """Rows keep the protocol's category order; a category's name shows on its first row only."""

    columns = [
        Column("Category", lambda i: i.category_label),
        Column("Procedure", lambda i: i.label, tip=lambda i: i.note),
        Column("Status", _status, colour=lambda i: item_look(i.status).colour),
        Column("Details", _detail, tip=_detail),
    ]

    def data(self, index, role=0):
        value = super().data(index, role)
        if role == 0 and index.column() == 0 and index.row() > 0:
            if self._rows[index.row() - 1].category == self._rows[index.row()].category:
                return ""
        return value
