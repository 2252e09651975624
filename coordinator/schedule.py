"""The visit-schedule engine: protocol + a subject's facts -> the subject's visits.

Everything here is a pure function. The plan (which visits, their targets and
windows, what cancelled them) is built from every recorded fact and never from
the date it is looked at; ``status(on)`` then reads the plan as of a date:

- a visit whose recorded date is after ``on`` had not happened yet on ``on``;
- a cancellation counts from the date of the fact that caused it (a death on
  20 June cancels nothing that was due on 1 June).

Rules (for the bundled protocol; numbers come from the protocol file):
- SCR: before C1D1 is set, target = consent, window consent .. consent + 14;
  once set, window C1D1 - 14 .. C1D1 - 1 and target = window start.
- C1D1 is the first dose; other cycle-1 days count from it.
- CnD1 (n >= 2) = actual date of C(n-1)D1 (else its target) + cycle length;
  other days of cycle n count from CnD1's actual date, else its target. So a
  delayed or early cycle moves every later visit and never an earlier one.
- Cycles are listed while on treatment: at least the evaluation cycles, and
  always the cycle after the latest one with anything recorded.
- Last dose: undone treatment visits targeted after it are cancelled (from the
  last dose's date); EOT window = last dose .. + 28 days, target at the end.
- Follow-up tracks count from EOT (actual date, else target) in calendar
  months, each from the anchor; they run at least ``horizon_months`` and always
  one visit past the latest recorded one. A visit targeted after one of its
  track's stopping events is cancelled (or left out once its window would open
  after the event).
- Screen failure and study-ending events (death, withdrawal) cancel every visit
  not done by their date; visits whose window opens after it are left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from coordinator.dates import add_months, days
from coordinator.model import Subject
from coordinator.protocol import Protocol


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    label: str
    kind: str  # screening, cycle, eot, follow_up, unscheduled
    target: dt.date
    window_start: dt.date
    window_end: dt.date
    date: dt.date | None = None
    missed: bool = False
    cancelled_from: dt.date | None = None
    cycle: int = 0
    day: int = 0

    def status(self, on: dt.date) -> str:
        """``done``, ``missed``, ``cancelled``, ``due``, ``overdue`` or ``planned`` as of ``on``."""
        return visit_status(self.date, self.missed, self.cancelled_from, self.window_start, self.window_end, on)

    @property
    def out_of_window(self) -> bool:
        return self.date is not None and not self.window_start <= self.date <= self.window_end


def visit_status(date, missed, cancelled_from, window_start, window_end, on) -> str:
    """The one definition of a visit's status on a day (the store's due query uses it too)."""
    if date is not None and date <= on:
        return "done"
    if missed:
        return "missed"
    if cancelled_from is not None and cancelled_from <= on:
        return "cancelled"
    if on < window_start:
        return "planned"
    if on <= window_end:
        return "due"
    return "overdue"


def build_plan(protocol: Protocol, subject: Subject) -> list[PlannedVisit]:
    """Every visit of the subject, ordered by target date."""
    visits = [_screening(protocol, subject)]
    if subject.c1d1 is not None and subject.screen_failure_date is None:
        visits += _cycles(protocol, subject)
        if subject.last_dose is not None:
            eot = _end_of_treatment(protocol, subject)
            visits.append(eot)
            for track in protocol.follow_up:
                visits += _track(protocol, subject, track, eot.date or eot.target)
    visits += _unscheduled(protocol, subject)
    visits = _end_study(protocol, subject, visits)
    order = {visit.code: i for i, visit in enumerate(visits)}
    return sorted(visits, key=lambda v: (v.target, order[v.code]))


def _record(subject: Subject, code: str) -> tuple[dt.date | None, bool]:
    record = subject.visits.get(code)
    if record is None:
        return None, False
    return record.date, record.missed


def latest_number(protocol: Protocol, subject: Subject, group: str) -> int:
    """The highest cycle (group "cycle") or visit number of a numbered group (PDFU, UNS) recorded, else 0."""
    numbers = [ref.cycle if group == "cycle" else ref.number
               for code in subject.visits if (ref := protocol.parse_visit(code)) is not None and ref.group == group]
    return max(numbers, default=0)


def _screening(protocol: Protocol, subject: Subject) -> PlannedVisit:
    scr = protocol.screening
    if subject.c1d1 is not None:
        start, end = subject.c1d1 - days(scr.days_before_c1d1), subject.c1d1 - days(1)
    else:
        start, end = subject.consent_date, subject.consent_date + days(scr.days_after_consent)
    date, missed = _record(subject, scr.code)
    return PlannedVisit(scr.code, scr.label, "screening", start, start, end, date, missed)


def _cycles(protocol: Protocol, subject: Subject) -> list[PlannedVisit]:
    last_recorded = latest_number(protocol, subject, "cycle")
    wanted = max(protocol.evaluation_cycles, last_recorded + 1)
    last_dose = subject.last_dose
    visits: list[PlannedVisit] = []
    day1_target = subject.c1d1
    cycle = 1
    while cycle <= wanted:
        day1_code = f"C{cycle}D1"
        day1_date, _ = _record(subject, day1_code)
        if cycle == 1:
            day1_date = subject.c1d1  # recording C1D1 is the first dose
        anchor = day1_date or day1_target
        for template in sorted((t for t in protocol.cycle_visits if t.applies_to(cycle)), key=lambda t: t.day):
            code = f"C{cycle}D{template.day}"
            target = day1_target if template.day == 1 else anchor + days(template.day - 1)
            date, missed = _record(subject, code)
            if cycle == 1 and template.day == 1:
                date, missed = subject.c1d1, False
            cancelled = last_dose if last_dose is not None and date is None and not missed and target > last_dose else None
            visits.append(PlannedVisit(
                code, template.label.format(cycle=cycle, day=template.day), "cycle", target,
                target - days(template.window_before), target + days(template.window_after),
                date, missed, cancelled, cycle, template.day,
            ))
        day1_target = anchor + days(protocol.cycle_length_days)
        cycle += 1
    return visits


FIRST_DOSE = "C1D1"


def first_dose_visit(protocol: Protocol, day: dt.date) -> PlannedVisit:
    """Cycle 1 day 1 before the first dose is given, placed on ``day`` (the planned day). It is in
    no plan until it happens (recording it is recording the first dose), yet its pre-dose
    checklist, requisition and calendar come before: the screens and forms use this stand-in."""
    template = next(t for t in protocol.cycle_visits if t.day == 1 and t.applies_to(1))
    return PlannedVisit(FIRST_DOSE, template.label.format(cycle=1, day=1), "cycle", day, day, day, cycle=1, day=1)


def _end_of_treatment(protocol: Protocol, subject: Subject) -> PlannedVisit:
    eot = protocol.end_of_treatment
    start = subject.last_dose
    end = start + days(eot.window_days)
    date, missed = _record(subject, eot.code)
    return PlannedVisit(eot.code, eot.label, "eot", end, start, end, date, missed)


def _track(protocol: Protocol, subject: Subject, track, anchor: dt.date) -> list[PlannedVisit]:
    stops = [subject.events[e] for e in track.stops_on if e in subject.events]
    stop = min(stops) if stops else None
    last_recorded = latest_number(protocol, subject, track.code)
    horizon = add_months(anchor, track.horizon_months)
    visits = []
    number = 1
    while True:
        target = add_months(anchor, number * track.every_months)
        if target > horizon and number > last_recorded + 1:
            break
        code = f"{track.code}{number}"
        start, end = target - days(track.window_days), target + days(track.window_days)
        date, missed = _record(subject, code)
        cancelled = None
        if stop is not None and date is None and not missed and target > stop:
            if start > stop and number > last_recorded:
                break
            cancelled = stop
        visits.append(PlannedVisit(code, track.label.format(n=number), "follow_up", target, start, end,
                                   date, missed, cancelled, day=number))
        number += 1
    return visits


def _unscheduled(protocol: Protocol, subject: Subject) -> list[PlannedVisit]:
    visits = []
    for code, record in subject.visits.items():
        ref = protocol.parse_visit(code)
        if ref is not None and ref.kind == "unscheduled" and record.date is not None:
            visits.append(PlannedVisit(code, protocol.unscheduled_label.format(n=ref.number), "unscheduled",
                                       record.date, record.date, record.date, record.date, day=ref.number))
    return sorted(visits, key=lambda v: v.day)


def study_end(protocol: Protocol, subject: Subject) -> dt.date | None:
    """The date after which nothing more happens: screen failure, death or withdrawal."""
    dates = [d for e, d in subject.events.items() if protocol.events[e].ends_study]
    if subject.screen_failure_date is not None:
        dates.append(subject.screen_failure_date)
    return min(dates) if dates else None


def _end_study(protocol: Protocol, subject: Subject, visits: list[PlannedVisit]) -> list[PlannedVisit]:
    end = study_end(protocol, subject)
    if end is None:
        return visits
    kept = []
    for visit in visits:
        done_by_end = visit.date is not None and visit.date <= end
        if done_by_end or visit.missed:
            kept.append(visit)
        elif visit.window_start <= end:
            cancelled = min(visit.cancelled_from or end, end)
            kept.append(replace(visit, cancelled_from=cancelled))
    return kept


def subject_status(protocol: Protocol, subject: Subject, on: dt.date, plan: list[PlannedVisit] | None = None) -> str:
    """``screening``, ``screen_failed``, ``on_treatment``, ``follow_up`` or ``off_study`` on ``on``."""
    if any(protocol.events[e].ends_study and d <= on for e, d in subject.events.items()):
        return "off_study"
    if subject.screen_failure_date is not None and subject.screen_failure_date <= on:
        return "screen_failed"
    if subject.c1d1 is None or subject.c1d1 > on:
        return "screening"
    if subject.last_dose is None or subject.last_dose > on:
        return "on_treatment"
    tracks_running = [
        t for t in protocol.follow_up
        if not any(e in subject.events and subject.events[e] <= on for e in t.stops_on)
    ]
    if tracks_running:
        return "follow_up"
    plan = plan if plan is not None else build_plan(protocol, subject)
    eot = next((v for v in plan if v.kind == "eot"), None)
    if eot is not None and eot.status(on) in ("due", "planned", "overdue"):
        return "follow_up"
    return "off_study"


def current_cycle_day(plan: list[PlannedVisit], on: dt.date) -> tuple[int, int] | None:
    """(cycle, day) on ``on`` counted from the latest cycle's actual day 1, or None before C1D1."""
    started = [v for v in plan if v.kind == "cycle" and v.day == 1 and v.date is not None and v.date <= on]
    if not started:
        return None
    latest = max(started, key=lambda v: v.cycle)
    return latest.cycle, (on - latest.date).days + 1
