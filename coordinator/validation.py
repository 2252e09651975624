"""Checks on a subject's facts, shared by every single command and by import.

``check_subject`` looks at a whole ``Subject`` against the protocol; the
service runs it on the subject as it would be after a change, so a command and
an import can never disagree on what is allowed. Each problem is an
``InputError`` naming the subject and the field.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from coordinator.errors import InputError
from coordinator.model import NO_STEROID, PROCEDURE_STATUSES, Subject
from coordinator.protocol import Protocol
from coordinator.schedule import FIRST_DOSE, PlannedVisit, build_plan, study_end

SUBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
INITIALS = re.compile(r"[A-Z][A-Z-]{0,3}")


EARLIEST = dt.date(1900, 1, 1)  # no subject fact is older; 0001-01-01 is some systems' 'no date'
MAX_CYCLE = 999  # as visit codes count them


def _facts(s: Subject):
    """(field, value) of each date and text the subject holds, named as errors name them."""
    for name in ("birth_date", "consent_date", "c1d1", "planned_c1d1", "last_dose", "name", "mrn",
                 "end_of_treatment_reason"):
        yield name, getattr(s, name)
    yield "screen_failure.date", s.screen_failure_date
    yield "screen_failure.reason", s.screen_failure_reason
    if s.steroid is not None:
        yield "steroid.drug", s.steroid.drug
    for code, visit in s.visits.items():
        yield f"visits.{code}.date", visit.date
        yield f"visits.{code}.reason", visit.reason
        yield f"visits.{code}.notes", visit.notes
    for (code, procedure), tick in s.procedures.items():
        yield f"procedures.{code}.{procedure}.date", tick.date
        yield f"procedures.{code}.{procedure}.reason", tick.reason
    for kind, day in s.events.items():
        yield f"events.{kind}", day


def check_subject(protocol: Protocol, s: Subject, today: dt.date) -> list[PlannedVisit]:
    """Raise ``InputError`` for the first problem; else return the subject's plan (the checks
    need it, and the caller saves it rather than building it twice)."""
    sid = s.id

    def fail(field: str, problem: str) -> InputError:
        return InputError(sid, field, problem)

    def not_future(field: str, day: dt.date | None) -> None:
        if day is not None and day > today:
            raise fail(field, f"{day.isoformat()} is in the future (today is {today.isoformat()})")

    if not isinstance(sid, str) or not SUBJECT_ID.fullmatch(sid):
        raise InputError(str(sid).encode("utf-8", "backslashreplace").decode(), "id",
                         "must be 1 to 40 letters, digits, '.', '-' or '_', starting with a letter or digit")
    for field_name, value in _facts(s):
        if isinstance(value, dt.date) and value < EARLIEST:
            raise fail(field_name, f"{value.isoformat()} is before {EARLIEST.year}: a placeholder for a missing date?")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise fail(field_name, "holds bytes that are not text (typed or saved in another encoding?): "
                                       "type it again") from None
    if not INITIALS.fullmatch(s.initials or ""):
        raise fail("initials", f"{s.initials!r} must be 1 to 4 capital letters")
    if s.sex not in ("F", "M"):
        raise fail("sex", f"{s.sex!r} must be F or M")
    if s.childbearing_potential and s.sex != "F":
        raise fail("childbearing_potential", "only a female subject can be of child-bearing potential")
    not_future("consent_date", s.consent_date)
    if s.birth_date >= s.consent_date:
        raise fail("birth_date", f"{s.birth_date.isoformat()} is not before the consent date {s.consent_date.isoformat()}")
    if (s.consent_date - s.birth_date).days > 120 * 366:
        raise fail("birth_date", f"{s.birth_date.isoformat()} would make the subject older than 120")
    for text_field in ("name", "mrn"):
        value = getattr(s, text_field)
        if value is not None and (not value.strip() or len(value) > 200):
            raise fail(text_field, "must be 1 to 200 characters when given")

    if s.screen_failure_date is not None:
        if s.screen_failure_date < s.consent_date:
            raise fail("screen_failure.date", "is before the consent date")
        not_future("screen_failure.date", s.screen_failure_date)
        if not (s.screen_failure_reason or "").strip():
            raise fail("screen_failure.reason", "a screen failure needs a reason")
        if s.c1d1 is not None:
            raise fail("c1d1", "a subject who failed screening cannot start cycle 1")

    # A plan, not a record: it may be in the future, and once c1d1 is recorded it is kept but moot.
    if s.planned_c1d1 is not None and s.planned_c1d1 <= s.consent_date:
        raise fail("planned_c1d1", f"{s.planned_c1d1.isoformat()} must be after the consent date "
                   f"{s.consent_date.isoformat()} (cycle 1 day 1 comes after consent)")

    if s.c1d1 is not None:
        if s.c1d1 <= s.consent_date:
            raise fail("c1d1", f"{s.c1d1.isoformat()} must be after the consent date {s.consent_date.isoformat()}")
        not_future("c1d1", s.c1d1)  # recording cycle 1 day 1 is recording the first dose

    if s.last_dose is not None:
        if s.c1d1 is None:
            raise fail("last_dose", "is recorded but cycle 1 day 1 (the first dose) is not")
        if s.last_dose < s.c1d1:
            raise fail("last_dose", f"{s.last_dose.isoformat()} is before cycle 1 day 1 ({s.c1d1.isoformat()})")
        not_future("last_dose", s.last_dose)
        if s.end_of_treatment_reason not in protocol.end_of_treatment.reasons:
            raise fail("end_of_treatment_reason",
                       f"{s.end_of_treatment_reason!r} must be one of: {', '.join(protocol.end_of_treatment.reasons)}")
    elif s.end_of_treatment_reason is not None:
        raise fail("end_of_treatment_reason", "is given but the last dose date is not")

    for kind, day in s.events.items():
        if kind not in protocol.events:
            raise fail("events", f"{kind!r} must be one of: {', '.join(protocol.events)}")
        if day < s.consent_date:
            raise fail(f"events.{kind}", f"{day.isoformat()} is before the consent date")
        not_future(f"events.{kind}", day)

    end = study_end(protocol, s)
    if end is not None:
        after_end = [("c1d1", s.c1d1), ("last_dose", s.last_dose)]
        after_end += [(f"events.{k}", d) for k, d in s.events.items() if not protocol.events[k].ends_study]
        after_end += [(f"procedures.{p.visit}.{p.procedure}", p.date) for p in s.procedures.values()]
        for field, day in after_end:
            if day is not None and day > end:
                raise fail(field, f"{day.isoformat()} is after the subject left the study ({end.isoformat()})")
    _check_visits(protocol, s, end, fail, not_future)
    plan = _check_order(protocol, s, fail)
    _check_procedures(protocol, s, plan, fail, not_future)

    if s.steroid is not None and not s.steroid.given:
        if s.steroid.dose_mg or s.steroid.days:
            raise fail("steroid.dose_mg", f"'{NO_STEROID}' (no steroid) takes no dose and no days")
    elif s.steroid is not None:
        if s.steroid.drug not in protocol.steroids:
            raise fail("steroid.drug", f"{s.steroid.drug!r} must be one of: {', '.join(protocol.steroids)}, "
                       f"or '{NO_STEROID}' when the prior regimen had no steroid")
        dose = s.steroid.dose_mg
        if not isinstance(dose, (int, float)) or not math.isfinite(dose) or not 0 < dose <= 1000:
            raise fail("steroid.dose_mg", "must be a positive dose in mg")
        if not s.steroid.days or any(d < 1 or d > protocol.cycle_length_days for d in s.steroid.days):
            raise fail("steroid.days", f"must be cycle days from 1 to {protocol.cycle_length_days}")
        if len(set(s.steroid.days)) != len(s.steroid.days):
            raise fail("steroid.days", "lists a day twice")
    seen = set()
    for change in s.dose_changes:
        try:
            drug = protocol.drug(change.drug)
        except KeyError:
            raise fail("dose_changes.drug", f"{change.drug!r} must be one of: {', '.join(d.id for d in protocol.drugs)}") from None
        if change.level not in [lv.level for lv in drug.levels]:
            raise fail("dose_changes.level", f"{change.level} is not a dose level of {drug.name} "
                       f"({', '.join(str(lv.level) for lv in drug.levels)})")
        if not 1 <= change.from_cycle <= MAX_CYCLE:
            raise fail("dose_changes.from_cycle", f"must be a cycle number from 1 to {MAX_CYCLE}")
        if (change.drug, change.from_cycle) in seen:
            raise fail("dose_changes", f"two changes of {drug.name} from cycle {change.from_cycle}")
        seen.add((change.drug, change.from_cycle))
    return plan


def _check_visits(protocol: Protocol, s: Subject, end, fail, not_future) -> None:
    recorded_cycles = {1} | {ref.cycle for code in s.visits
                             if (ref := protocol.parse_visit(code)) is not None and ref.kind == "cycle"}
    for code, record in s.visits.items():
        field = f"visits.{code}"
        ref = protocol.parse_visit(code)
        if ref is None:
            raise fail(field, f"{code!r} is not a visit of this protocol")
        if record.missed:
            if record.date is not None:
                raise fail(field, "cannot be both done on a date and missed")
            if not record.reason.strip():
                raise fail(field, "a missed visit needs a reason")
            if ref.kind == "unscheduled":
                raise fail(field, "an unscheduled visit cannot be missed")
        elif record.date is None:
            raise fail(field, "needs a date, or missed with a reason")
        day = record.date
        if day is not None:
            not_future(field, day)
            if day < s.consent_date:
                raise fail(field, f"{day.isoformat()} is before the consent date {s.consent_date.isoformat()}")
            if end is not None and day > end:
                raise fail(field, f"{day.isoformat()} is after the subject left the study ({end.isoformat()})")
        if ref.kind == "cycle":
            if s.c1d1 is None:
                raise fail(field, "cycle visits need cycle 1 day 1 to be recorded first")
            if code == FIRST_DOSE:
                if record.date != s.c1d1:
                    raise fail(field, "cycle 1 day 1 is the first dose: record it as the subject's c1d1")
                continue
            if day is not None and day <= s.c1d1:
                raise fail(field, f"{day.isoformat()} is not after cycle 1 day 1 ({s.c1d1.isoformat()})")
            # A mistyped cycle (C22D1 for C2D22, C99999D1) must not silently rebuild the plan:
            # no cycle is shorter than half its nominal length, and a missed one must be listed already.
            if day is not None and ref.cycle > 1 + (day - s.c1d1).days // max(1, protocol.cycle_length_days // 2):
                raise fail(field, f"cycle {ref.cycle} cannot have been reached by {day.isoformat()}, "
                           f"{(day - s.c1d1).days} days after cycle 1 day 1")
            if day is None and ref.cycle > max(protocol.evaluation_cycles, max(recorded_cycles - {ref.cycle}, default=1) + 1):
                raise fail(field, f"cycle {ref.cycle} is not in the schedule yet")
        elif ref.kind in ("eot", "follow_up"):
            if s.last_dose is None:
                raise fail(field, "is after treatment: record the last dose first")
            if day is not None and day < s.last_dose:
                raise fail(field, f"{day.isoformat()} is before the last dose ({s.last_dose.isoformat()})")
        elif ref.kind == "screening" and day is not None and s.c1d1 is not None and day >= s.c1d1:
            raise fail(field, f"{day.isoformat()} is not before cycle 1 day 1 ({s.c1d1.isoformat()})")


def awaiting_first_dose(s: Subject) -> bool:
    """Screened (or screening) and not yet dosed: cycle 1 day 1's pre-dose checks can be ticked."""
    return s.c1d1 is None and s.screen_failure_date is None


def pre_dose_day_1(s: Subject, visit: str) -> bool:
    """Cycle 1 day 1's pre-dose checklist, open before the first dose is recorded (and so before
    the visit is in the plan)."""
    return visit == FIRST_DOSE and awaiting_first_dose(s)


def not_scheduled(protocol: Protocol, code: str) -> str:
    ref = protocol.parse_visit(code)
    if ref is not None and ref.kind in ("eot", "follow_up"):
        return f"visit {code} is not in this subject's schedule yet: record the last dose first"
    return f"visit {code} is not in this subject's schedule"


def _check_order(protocol: Protocol, s: Subject, fail) -> list[PlannedVisit]:
    """Dates must fit the plan they make: a cycle starts after the previous cycle's day 1 (actual,
    else target), and a cycle's later visits come after its day 1 and by the next cycle's start.
    Returns the plan, which the caller saves rather than building it twice."""
    planned = build_plan(protocol, s)
    plan = {v.code: v for v in planned}

    def anchor(code: str):
        v = plan[code]
        return v.date or v.target

    for code, record in s.visits.items():
        v = plan.get(code)
        if v is None or v.kind != "cycle" or record.missed:
            continue
        if v.day == 1 and v.cycle > 1:
            before = anchor(f"C{v.cycle - 1}D1")
            if record.date <= before:
                raise fail(f"visits.{code}", f"cycle {v.cycle} cannot start on {record.date.isoformat()}, "
                           f"not after cycle {v.cycle - 1} day 1 ({before.isoformat()})")
        elif v.day > 1:
            day1 = anchor(f"C{v.cycle}D1")
            if record.date <= day1:
                raise fail(f"visits.{code}", f"{record.date.isoformat()} is not after cycle {v.cycle} day 1 "
                           f"({day1.isoformat()})")
            following = s.visits.get(f"C{v.cycle + 1}D1")
            if following is not None and following.date is not None and record.date > following.date:
                raise fail(f"visits.{code}", f"{record.date.isoformat()} is after cycle {v.cycle + 1} "
                           f"started ({following.date.isoformat()})")
    return planned


def _check_procedures(protocol: Protocol, s: Subject, plan: list[PlannedVisit], fail, not_future) -> None:
    planned = {v.code for v in plan}
    for (code, proc_id), record in s.procedures.items():
        field = f"procedures.{code}.{proc_id}"
        ref = protocol.parse_visit(code)
        if ref is None:
            raise fail(field, f"{code!r} is not a visit of this protocol")
        if code not in planned and not pre_dose_day_1(s, code):
            raise fail(field, not_scheduled(protocol, code))
        procedure = protocol.procedures.get(proc_id)
        if procedure is None:
            raise fail(field, f"{proc_id!r} is not a procedure of this protocol")
        if not protocol.scheduled_at(ref, proc_id):
            raise fail(field, f"{procedure.label} is not on the schedule of visit {code}")
        if record.status not in PROCEDURE_STATUSES:
            raise fail(field, f"status {record.status!r} must be one of: {', '.join(PROCEDURE_STATUSES)}")
        condition = protocol.conditions.get(procedure.condition) if procedure.condition else None
        if record.status == "requested" and not (condition and condition.on_request):
            raise fail(field, "only an on-request procedure can be requested")
        if record.status == "not_done" and not record.reason.strip():
            raise fail(field, "'not done' needs a reason")
        if record.date is not None:
            not_future(field, record.date)
            if record.date < s.consent_date:
                raise fail(field, f"{record.date.isoformat()} is before the consent date")
