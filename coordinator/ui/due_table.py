"""The dashboard's rows: what is overdue, due, closing, coming up, and which screening results expire."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from coordinator.dates import display, display_window
from coordinator.ui.status import visit_look
from coordinator.ui.table import Column, RowTableModel

# Dashboard order: the most urgent first (design.md).
SECTIONS = ("overdue", "closing", "due", "upcoming", "expiring")
# "due" is every visit whose window is open on the day (the core's definition); those whose window
# closes that very day have their own section above it.
SECTION_TITLES = {"overdue": "overdue", "closing": "window closes today", "due": "due (window open)",
                  "upcoming": "upcoming", "expiring": "screening expires"}


@dataclass(frozen=True)
class DueRow:
    section: str
    subject: str
    visit: str
    label: str
    target: dt.date
    window_start: dt.date | None
    window_end: dt.date | None
    days: int
    initials: str = ""
    done: int | None = None  # checklist progress: items done of ``total``
    total: int | None = None
    note: str = ""
    detail: str = ""  # the tooltip: every screening result that expires

    @property
    def when(self) -> str:
        n = self.days
        if self.section == "overdue":
            return f"{n} day{'s' if n != 1 else ''} late"
        if self.section == "closing":
            return "window closes today"
        if self.section == "due":
            return "closes tomorrow" if n == 1 else f"closes in {n} days"
        if self.section == "upcoming":
            return "opens tomorrow" if n == 1 else ("opens today" if n == 0 else f"opens in {n} days")
        return self.note

    @property
    def window(self) -> str:
        if self.window_start is None or self.window_end is None:
            return ""
        return display_window(self.window_start, self.window_end)

    @property
    def progress(self) -> str:
        return f"{self.done} of {self.total} done" if self.total else ""


def _section_text(row: DueRow) -> str:
    look = visit_look(row.section)
    return f"{look.symbol} {SECTION_TITLES[row.section]}"


class DueTableModel(RowTableModel):
    columns = [
        Column("Status", _section_text, sort=lambda r: SECTIONS.index(r.section) * 100_000 + (
            -r.days if r.section == "overdue" else r.days), colour=lambda r: visit_look(r.section).colour),
        Column("Subject", lambda r: r.subject),
        Column("Initials", lambda r: r.initials),
        Column("Visit", lambda r: r.visit, tip=lambda r: r.label),
        Column("Target", lambda r: display(r.target, weekday=True), sort=lambda r: r.target.isoformat(),
               tip=lambda r: "planned cycle 1 day 1" if r.section == "expiring" else ""),
        Column("Window", lambda r: r.window, sort=lambda r: (r.window_end or r.target).isoformat()),
        Column("When", lambda r: r.when, sort=lambda r: r.days, tip=lambda r: r.detail or r.note),
        Column("Checklist", lambda r: r.progress, sort=lambda r: (r.done or 0) - (r.total or 0)),
    ]


def due_rows(service, day: dt.date, days: int) -> list[DueRow]:
    """Every dashboard row for ``day`` (runs on a worker thread with its own service)."""
    rows = []
    initials = service.initials()
    for item in service.due(day, days):
        section = "closing" if item.status == "due" and item.window_end == day else item.status
        rows.append(DueRow(section, item.subject, item.visit, item.label, item.target, item.window_start,
                           item.window_end, item.days, initials.get(item.subject, "")))
    progress = service.progress((r.subject, r.visit) for r in rows if r.section != "upcoming")
    rows = [DueRow(**{**r.__dict__, "done": p.done, "total": p.total}) if (p := progress.get((r.subject, r.visit)))
            else r for r in rows]
    by_subject: dict[str, list] = {}
    for e in service.screening_expiries(day):
        by_subject.setdefault(e.subject, []).append(e)
    for subject, problems in by_subject.items():
        first = min(problems, key=lambda e: e.valid_until)
        expired = [e for e in problems if e.valid_until < e.planned_c1d1]
        recent = [e for e in problems if e.valid_until >= e.planned_c1d1]
        parts = []
        if expired:
            parts.append(f"{len(expired)} expire{'s' if len(expired) == 1 else ''} from {display(first.valid_until)}")
        if recent:
            parts.append(f"{len(recent)} too recent")
        rows.append(DueRow("expiring", subject, "SCR", first.label, first.planned_c1d1, None, None,
                           (first.valid_until - day).days, first.initials, note="; ".join(parts),
                           detail=f"Before the planned cycle 1 day 1 ({display(first.planned_c1d1, weekday=True)}):\n"
                                  + "\n".join(f"• {e.label}: {e.problem}" for e in problems)))
    return rows
