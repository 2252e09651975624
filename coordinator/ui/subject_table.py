"""The registry's rows: one per subject, with where they are in the study and what comes next."""

from __future__ import annotations

from coordinator.dates import display
from coordinator.schedule import FIRST_DOSE
from coordinator.ui.table import Column, RowTableModel

STATUS_WORDS = {"screening": "screening", "screen_failed": "screen failure", "on_treatment": "on treatment",
                "follow_up": "follow-up", "off_study": "off study"}


def _status(summary) -> str:
    return STATUS_WORDS.get(summary.status, summary.status.replace("_", " "))


def _cycle_day(summary) -> str:
    return f"C{summary.cycle_day[0]} D{summary.cycle_day[1]}" if summary.cycle_day else ""


def _next(summary) -> str:
    v = summary.next_visit
    if v is None:
        return ""
    planned = " (planned)" if summary.status == "screening" and v.code == FIRST_DOSE else ""  # a first dose still to come
    return f"{v.code}  {display(v.target, weekday=True)}{planned}"


def _next_key(summary) -> str:
    return summary.next_visit.target.isoformat() if summary.next_visit else "9999"


class SubjectTableModel(RowTableModel):
    columns = [
        Column("Subject", lambda s: s.id),
        Column("Initials", lambda s: s.initials),
        Column("Status", _status),
        Column("Cycle / day", _cycle_day, sort=lambda s: s.cycle_day[0] * 1000 + s.cycle_day[1] if s.cycle_day else -1),
        Column("Next visit", _next, sort=_next_key,
               tip=lambda s: s.next_visit.label if s.next_visit else ""),
    ]
