"""The facts about a subject: the source of truth from which every schedule is derived."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

PROCEDURE_STATUSES = ("done", "not_done", "not_applicable", "requested")


@dataclass(frozen=True)
class VisitRecord:
    """A visit that happened on ``date``, or was ``missed`` (with a reason)."""

    visit: str
    date: dt.date | None = None
    missed: bool = False
    reason: str = ""
    notes: str = ""


@dataclass(frozen=True)
class ProcedureRecord:
    """A tick on a visit's checklist. ``date`` defaults to the visit's date."""

    visit: str
    procedure: str
    status: str
    date: dt.date | None = None
    reason: str = ""


# The prior regimen had no steroid, so none is given (the synopsis: steroids "at the same dose
# and schedule as the last lenalidomide-containing regimen"): recorded, unlike "not chosen yet".
NO_STEROID = "none"


@dataclass(frozen=True)
class Steroid:
    drug: str  # a protocol steroid id, or NO_STEROID
    dose_mg: float
    days: tuple[int, ...]

    @property
    def given(self) -> bool:
        return self.drug != NO_STEROID


@dataclass(frozen=True)
class DoseChange:
    drug: str
    level: int
    from_cycle: int


def in_order(changes) -> tuple[DoseChange, ...]:
    """Dose changes in the one order a subject holds them (by cycle, then drug), however they came:
    the store reads them so, and an import or a change must give the same subject."""
    return tuple(sorted(changes, key=lambda c: (c.from_cycle, c.drug)))


@dataclass(frozen=True)
class Subject:
    id: str
    initials: str
    sex: str
    birth_date: dt.date
    consent_date: dt.date
    childbearing_potential: bool | None = None
    name: str | None = None
    mrn: str | None = None
    screen_failure_date: dt.date | None = None
    screen_failure_reason: str | None = None
    c1d1: dt.date | None = None
    planned_c1d1: dt.date | None = None  # a plan, not a record: the first dose booked; moot once c1d1 is recorded
    steroid: Steroid | None = None
    dose_changes: tuple[DoseChange, ...] = ()
    visits: dict[str, VisitRecord] = field(default_factory=dict)
    procedures: dict[tuple[str, str], ProcedureRecord] = field(default_factory=dict)
    last_dose: dt.date | None = None
    end_of_treatment_reason: str | None = None
    events: dict[str, dt.date] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.sex == "M" and self.childbearing_potential is None:
            object.__setattr__(self, "childbearing_potential", False)  # pregnancy tests never apply

    def dose_level(self, drug: str, cycle: int) -> int:
        """The dose level of ``drug`` in ``cycle``: the latest change from that cycle or before, else 0."""
        level = 0
        for change in sorted(self.dose_changes, key=lambda c: c.from_cycle):
            if change.drug == drug and change.from_cycle <= cycle:
                level = change.level
        return level


@dataclass(frozen=True)
class DueItem:
    """One line of the due list."""

    subject: str
    visit: str
    label: str
    target: dt.date
    window_start: dt.date
    window_end: dt.date
    status: str  # overdue, due, upcoming
    days: int  # overdue: days late; due: days until the window closes; upcoming: days until it opens

    @classmethod
    def of(cls, subject: str, visit: str, label: str, target: dt.date, window_start: dt.date, window_end: dt.date,
           status: str, on: dt.date) -> DueItem | None:
        """The line of a visit whose status on ``on`` is ``status`` (``schedule.visit_status``);
        None for a visit the due list leaves out (done, missed, cancelled)."""
        days = {"overdue": (on - window_end).days, "due": (window_end - on).days, "planned": (window_start - on).days}
        if status not in days:
            return None
        return cls(subject, visit, label, target, window_start, window_end,
                   "upcoming" if status == "planned" else status, days[status])

    def urgency(self) -> tuple:
        """The due list's order: overdue (most days late first), due (window closing soonest
        first), then upcoming (window opening soonest first)."""
        rank = ("overdue", "due", "upcoming").index(self.status)
        return rank, -self.days if self.status == "overdue" else self.days, self.target, self.subject, self.visit

    def as_json(self) -> dict:
        return {"subject": self.subject, "visit": self.visit, "label": self.label,
                "target": self.target.isoformat(), "window_start": self.window_start.isoformat(),
                "window_end": self.window_end.isoformat(), "status": self.status}
