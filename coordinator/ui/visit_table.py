"""A subject's visits as a list under the timeline: target, window, date, status, checklist progress."""

from __future__ import annotations

from dataclasses import dataclass

from coordinator.dates import display, display_window
from coordinator.ui.status import OUT_OF_WINDOW, visit_look
from coordinator.ui.table import Column, RowTableModel


@dataclass(frozen=True)
class VisitRow:
    visit: object  # TimelineVisit
    done: int = 0
    total: int = 0

    @property
    def code(self) -> str:
        return self.visit.visit.code


def _window(row: VisitRow) -> str:
    v = row.visit.visit
    return display_window(v.window_start, v.window_end)


def _status(row: VisitRow) -> str:
    text = visit_look(row.visit.status).text
    return f"{text} {OUT_OF_WINDOW} out of window" if row.visit.visit.out_of_window else text


def _progress(row: VisitRow) -> str:
    return f"{row.done} of {row.total}" if row.total else ""


class VisitTableModel(RowTableModel):
    columns = [
        Column("Visit", lambda r: r.code, sort=lambda r: r.visit.visit.target.isoformat() + r.code,
               tip=lambda r: r.visit.visit.label),
        Column("Target", lambda r: display(r.visit.visit.target, weekday=True), sort=lambda r: r.visit.visit.target.isoformat()),
        Column("Window", _window, sort=lambda r: r.visit.visit.window_start.isoformat()),
        Column("Date", lambda r: display(r.visit.visit.date), sort=lambda r: r.visit.visit.date.isoformat() if r.visit.visit.date else ""),
        Column("Status", _status, colour=lambda r: visit_look(r.visit.status).colour),
        Column("Done", _progress, sort=lambda r: r.done - r.total),
    ]

    def index_of(self, code: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.code == code), -1)
