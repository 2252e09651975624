"""A visit's checklist: the procedures its Schedule of Assessments asks for, for one subject.

Status of each item: ``done``, ``not_done`` (with a reason), ``not_applicable``
(a condition that does not apply, an on-request item not requested, or marked
so) or ``pending``. A screening item done too long before cycle 1 day 1 (or
too close to it) is ``pending`` again with ``repeat`` set: it must be redone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from coordinator.model import Subject
from coordinator.protocol import Condition, Procedure, Protocol, VisitRef

@dataclass(frozen=True)
class ChecklistItem:
    id: str
    label: str
    category: str
    category_label: str
    status: str
    condition: str | None = None  # the condition's label, when the procedure has one
    date: dt.date | None = None
    reason: str = ""
    repeat: bool = False
    note: str = ""


@dataclass(frozen=True)
class Progress:
    """How far a visit's checklist has got: ``done`` of ``total`` applicable items."""

    done: int  # done, or not done with its reason: either way the item is dealt with
    total: int  # every item but the not-applicable ones


def checklist_progress(items: Iterable[ChecklistItem]) -> Progress:
    """The one definition of a checklist's progress (the single checklist and the dashboard's many)."""
    statuses = [i.status for i in items if i.status != "not_applicable"]
    return Progress(sum(s in ("done", "not_done") for s in statuses), len(statuses))


@dataclass(frozen=True)
class ScreeningCheck:
    """A screening result and the cycle-1 day-1 dates it is valid for."""

    procedure: Procedure
    done: dt.date
    valid_from: dt.date  # earliest C1D1 it supports
    valid_until: dt.date  # latest C1D1 it supports (it "expires" after this)

    def problem(self, c1d1: dt.date) -> str | None:
        if c1d1 > self.valid_until:
            return (f"done {self.done.isoformat()}, more than {(self.valid_until - self.done).days} days "
                    f"before cycle 1 day 1 ({c1d1.isoformat()}): repeat")
        if c1d1 < self.valid_from:
            wanted = (self.valid_from - self.done).days
            return (f"done {self.done.isoformat()}, not at least {wanted} day{'s' if wanted != 1 else ''} "
                    f"before cycle 1 day 1 ({c1d1.isoformat()}): repeat")
        return None


def condition_applies(condition: Condition, subject: Subject) -> bool:
    """Whether a subject-attribute condition holds; unknown attributes count as holding (safe side)."""
    value = getattr(subject, condition.subject_field)
    return value is None or value == condition.equals


def visit_checklist(protocol: Protocol, subject: Subject, ref: VisitRef) -> list[ChecklistItem]:
    """The items of a visit, grouped by category in the protocol's category order."""
    checks = {c.procedure.id: c for c in screening_checks(protocol, subject)} if ref.kind == "screening" else {}
    items = []
    for procedure in protocol.procedures_at(ref):
        record = subject.procedures.get((ref.code, procedure.id))
        condition = protocol.conditions.get(procedure.condition) if procedure.condition else None
        status, reason, date, repeat, note = "pending", "", None, False, procedure.note
        if record is not None:
            reason, date = record.reason, record.date
        if condition is not None and condition.on_request:
            requested = record is not None
            status = "not_applicable" if not requested else "pending"
        elif condition is not None and not condition_applies(condition, subject):
            status = "not_applicable"
        if record is not None and record.status != "requested":
            status = record.status
        check = checks.get(procedure.id)
        if status == "done" and ref.kind == "screening" and subject.c1d1 is not None:
            if check is None:  # done, but on no known date: its look-back cannot be confirmed
                status, note = "pending", ("done on an unrecorded date: record the date to confirm it is within "
                                           f"{protocol.lookback_days(procedure)} days "
                                           "before cycle 1 day 1")
            elif problem := check.problem(subject.c1d1):
                status, repeat, note = "pending", True, problem
        if condition is not None and condition.subject_field and getattr(subject, condition.subject_field) is None:
            note = "; ".join(x for x in (note, f"{condition.subject_field.replace('_', ' ')} not recorded") if x)
        items.append(ChecklistItem(
            procedure.id, procedure.label, procedure.category, protocol.categories[procedure.category], status,
            condition.label if condition else None, date, reason, repeat, note,
        ))
    order = list(protocol.categories)
    return sorted(items, key=lambda item: order.index(item.category))


def screening_checks(protocol: Protocol, subject: Subject) -> list[ScreeningCheck]:
    """Every screening item done (with a known date), with the C1D1 dates it stays valid for."""
    scr = protocol.screening
    scr_record = subject.visits.get(scr.code)
    scr_date = scr_record.date if scr_record else None
    checks = []
    for procedure in protocol.procedures_at(VisitRef(scr.code, "screening", scr.code)):
        record = subject.procedures.get((scr.code, procedure.id))
        if record is None or record.status != "done":
            continue
        done = record.date or scr_date
        if done is None:
            continue
        checks.append(ScreeningCheck(procedure, done, done + dt.timedelta(days=procedure.min_days_before),
                                     done + dt.timedelta(days=protocol.lookback_days(procedure))))
    return checks
