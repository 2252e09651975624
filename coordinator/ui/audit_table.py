"""Audit rows as the screens show them: the whole-study trail and its filters here, a subject's
history in ``history_table`` (the same columns, declared once).

The trail keeps UTC time stamps and the values exactly as written (JSON for a
visit or a tick); the table shows local time with its zone, dates as 03-Mar-2025
and a record's fields in words, and its tooltips give the stored text.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel

from coordinator.ui.table import Column, RowTableModel, SearchProxy
from coordinator.ui.times import local_date, local_time
from coordinator.ui.words import readable

SHORT = 80  # a value longer than this is cut in its cell; the tooltip has it whole
TIP_LIMIT = 2000
_NAMED_ELSEWHERE = ("visit", "procedure")  # already in the row's field (visits.C1D8, procedures.C1D8.cbc)


def value_text(value: str | None, limit: int | None = SHORT) -> str:
    """A stored value in words: a record's fields as 'date 10-Mar-2025, notes ok'; '–' for none."""
    if value is None:
        return "–"
    text = value
    if value.startswith("{"):
        try:
            facts = json.loads(value)
        except ValueError:
            facts = None
        if isinstance(facts, dict):
            text = ", ".join(f"{key.replace('_', ' ')} {_plain(item)}" for key, item in facts.items()
                             if key not in _NAMED_ELSEWHERE) or "–"
    text = readable(text)
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


def _plain(item) -> str:
    if isinstance(item, bool):
        return "yes" if item else "no"
    if item is None:
        return "–"
    if isinstance(item, list):
        return f"({len(item)})"
    if isinstance(item, dict):
        return "{…}"
    return str(item)


def stored_tip(label: str, value: str | None) -> str:
    """The value as stored, wrapped (rich text wraps at spaces, so JSON gets some)."""
    if value is None:
        return f"<b>{label}</b> (nothing)"
    text = value
    if value.startswith("{"):
        try:
            text = json.dumps(json.loads(value), ensure_ascii=False, separators=(", ", ": "))
        except ValueError:
            pass
    if len(text) > TIP_LIMIT:
        text = text[:TIP_LIMIT] + " …"
    return f"<b>{label}</b> {escape(text)}"


def _change_tip(row) -> str:
    return f"<qt>{stored_tip('was:', row.old)}<br>{stored_tip('now:', row.new)}</qt>"


SEQ = Column("#", lambda r: str(r.seq), sort=lambda r: r.seq, align_right=True,
             tip=lambda r: f"Row {r.seq} of the audit trail (numbered in the order written; no gaps)")
WHEN = Column("When", lambda r: local_time(r.at), sort=lambda r: r.seq, tip=lambda r: f"{r.at} (UTC, as stored)")
WHO = Column("Who", lambda r: r.user)
ACTION = Column("Action", lambda r: r.action.replace("_", " "))
SUBJECT = Column("Subject", lambda r: r.subject_id or "")
FIELD = Column("Field", lambda r: r.field or "")
WAS = Column("Was", lambda r: value_text(r.old), tip=lambda r: f"<qt>{stored_tip('was:', r.old)}</qt>")
NOW = Column("Now", lambda r: value_text(r.new), tip=lambda r: f"<qt>{stored_tip('now:', r.new)}</qt>")
CHANGE = Column("Old → new", lambda r: f"{value_text(r.old, SHORT // 2)}  →  {value_text(r.new, SHORT)}", tip=_change_tip)
REASON = Column("Reason", lambda r: r.reason or "")


class AuditTableModel(RowTableModel):
    """The whole study's trail (``Service.audit()`` rows)."""

    columns = [SEQ, WHEN, WHO, ACTION, SUBJECT, FIELD, CHANGE, REASON]


class AuditFilter(SearchProxy):
    """The trail's filters: subject (part of the id), user, action, a date range (local days,
    as shown) and free text over every column and the stored values."""

    ALL = None  # no user / action chosen: every one

    def __init__(self, source: AuditTableModel, parent=None):
        super().__init__(source, parent)
        self.subject = ""
        self.user: str | None = self.ALL
        self.action: str | None = self.ALL
        self.start: dt.date | None = None
        self.end: dt.date | None = None
        self.text = ""
        self._keys: dict[int, tuple[dt.date | None, str]] = {}  # seq -> (local day, lower-case text)
        source.modelReset.connect(self._keys.clear)

    def set_filters(self, subject: str, user: str | None, action: str | None, start: dt.date | None,
                    end: dt.date | None, text: str) -> None:
        changing = hasattr(self, "endFilterChange")  # Qt 6.10 on: invalidateFilter() is deprecated
        if changing:
            self.beginFilterChange()
        self.subject, self.user, self.action = subject.strip().lower(), user, action
        self.start, self.end, self.text = start, end, text.strip().lower()
        if changing:
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        row = model.row(model.index(source_row, 0, source_parent))
        if self.subject and self.subject not in (row.subject_id or "").lower():
            return False
        if self.user is not self.ALL and row.user != self.user:
            return False
        if self.action is not self.ALL and row.action != self.action:
            return False
        if self.start is None and self.end is None and not self.text:
            return True
        day, words = self._key(model, row)
        if self.start is not None and (day is None or day < self.start):
            return False
        if self.end is not None and (day is None or day > self.end):
            return False
        return self.text in words

    def _key(self, model: AuditTableModel, row) -> tuple[dt.date | None, str]:
        key = self._keys.get(row.seq)
        if key is None:
            shown = [column.text(row) for column in model.columns]
            stored = [row.at, value_text(row.old, None), value_text(row.new, None), row.old or "", row.new or ""]
            key = self._keys[row.seq] = (local_date(row.at), "\n".join(shown + stored).lower())
        return key
