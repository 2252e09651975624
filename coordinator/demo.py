"""Synthetic demo subjects at every stage of the study, dated around a given day.

Nothing here is real: ids, initials, names and MRNs are made up. The subjects
are built by walking the schedule engine forward (each visit done near its
target, its checklist ticked), so their histories obey the protocol.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace
from pathlib import Path

from coordinator.checklist import visit_checklist
from coordinator.model import DoseChange, ProcedureRecord, Steroid, Subject, VisitRecord
from coordinator.protocol import Protocol
from coordinator.schedule import build_plan
from coordinator.service import Service

DEX = Steroid("dexamethasone", 20, (1, 8, 15, 22))


@dataclass(frozen=True)
class Story:
    """One demo subject: offsets in days from today (negative = past)."""

    initials: str
    sex: str
    fcbp: bool | None
    consent: int
    c1d1: int | None = None
    screened: int | None = None
    screen_failure: int | None = None
    last_dose: int | None = None
    eot_reason: str | None = None
    events: tuple[tuple[str, int], ...] = ()
    delay_cycle: int = 0  # this cycle's day 1 starts 5 days late
    missed: str | None = None  # a visit recorded as missed
    skip: str | None = None  # a visit left unrecorded (shows overdue)
    reduce_from: int = 0  # selinexor dose level -1 from this cycle
    planned_c1d1: int | None = None  # the first dose booked (a plan), for a subject still screening


STORIES = [
    Story("AAB", "F", True, consent=-5, screened=-3, planned_c1d1=5),  # pregnancy test too recent for that day
    Story("BCD", "M", False, consent=-30, screened=-28, screen_failure=-20),
    Story("CDE", "F", True, consent=-20, screened=-17, c1d1=-7),
    Story("DEF", "M", False, consent=-12, screened=-10, planned_c1d1=7),  # 14-day results expire before it
    Story("EFG", "F", False, consent=-55, screened=-50, c1d1=-40, delay_cycle=2),
    Story("FGH", "M", False, consent=-125, screened=-120, c1d1=-110, reduce_from=3, skip="C4D22"),
    Story("GHI", "F", False, consent=-215, screened=-210, c1d1=-200, last_dose=-10, eot_reason="progression",
          events=(("progression", -12),)),
    Story("HIJ", "M", False, consent=-420, screened=-410, c1d1=-400, last_dose=-150, eot_reason="toxicity"),
    Story("IJK", "F", False, consent=-320, screened=-310, c1d1=-300, last_dose=-120, eot_reason="progression",
          events=(("progression", -121), ("death", -30))),
    Story("JKL", "M", False, consent=-100, screened=-95, c1d1=-90, last_dose=-21, eot_reason="withdrawal",
          events=(("withdrawal", -20),)),
    Story("KLM", "M", False, consent=-35, screened=-30, c1d1=-21),
    Story("LMN", "F", True, consent=-28, screened=-24, c1d1=-14, missed="C1D8"),
    Story("MNO", "M", False, consent=-620, screened=-610, c1d1=-600, last_dose=-420, eot_reason="progression",
          events=(("progression", -421),)),
    Story("NOP", "M", False, consent=-260, screened=-255, c1d1=-250, reduce_from=5),
]


def create(path: str | Path, user: str | None = None) -> Service:
    """A new database at ``path`` (the bundled protocol) holding the demo subjects, dated around
    today; the service stays open on it. One that fails half-way is deleted: a half-made database
    could be neither opened nor made again."""
    service = Service.create(path, user=user)
    try:
        service.import_subjects(demo_subjects(service.protocol, service.today), source="demo")
    except BaseException:
        service.store.discard()
        raise
    return service


def demo_subjects(protocol: Protocol, today: dt.date, site: str = "101") -> list[Subject]:
    rng = random.Random(20250303)
    return [story_subject(protocol, story, f"{site}-{i:03d}", today, rng) for i, story in enumerate(STORIES, start=1)]


def story_subject(protocol: Protocol, story: Story, sid: str, today: dt.date, rng: random.Random) -> Subject:
    """The subject a story describes, every visit up to ``today`` recorded (the benchmark uses it too)."""
    def day(offset: int | None) -> dt.date | None:
        return None if offset is None else today + dt.timedelta(days=offset)

    birth = day(story.consent) - dt.timedelta(days=rng.randint(45 * 365, 80 * 365))
    subject = Subject(
        id=sid, initials=story.initials, sex=story.sex, birth_date=birth, consent_date=day(story.consent),
        childbearing_potential=story.fcbp, name=f"Demo Patient {sid[-3:]}", mrn=f"DEMO{sid[-3:]}",
        steroid=DEX if rng.random() < 0.7 else None,
        dose_changes=(DoseChange("selinexor", -1, story.reduce_from),) if story.reduce_from else (),
    )
    if story.screened is not None:
        subject = _do_visit(protocol, subject, protocol.screening.code, day(story.screened))
    if story.planned_c1d1 is not None:
        subject = replace(subject, planned_c1d1=day(story.planned_c1d1))
    if story.screen_failure is not None:
        return replace(subject, screen_failure_date=day(story.screen_failure),
                       screen_failure_reason="Did not meet inclusion criteria (demo)")
    if story.c1d1 is None:
        return subject
    subject = replace(subject, c1d1=day(story.c1d1))
    if story.c1d1 <= 0:
        subject = _tick_all(protocol, subject, "C1D1", day(story.c1d1))
    if story.last_dose is not None:  # every treatment visit targeted up to the last dose happened
        subject = _walk(protocol, subject, story, day(story.last_dose) + dt.timedelta(days=1), day(story.last_dose), rng)
    else:
        subject = _walk(protocol, subject, story, today, today, rng)
    if story.last_dose is not None:
        subject = replace(subject, last_dose=day(story.last_dose), end_of_treatment_reason=story.eot_reason)
        events = dict((kind, day(offset)) for kind, offset in story.events)
        subject = replace(subject, events={k: v for k, v in events.items() if k not in ("death", "withdrawal")})
        end = min([today] + [d for k, d in events.items() if k in ("death", "withdrawal")])
        subject = _walk(protocol, subject, story, end, end, rng)
        subject = replace(subject, events=events)
    return subject


def _walk(protocol: Protocol, subject: Subject, story: Story, until: dt.date, latest: dt.date,
          rng: random.Random) -> Subject:
    """Record each visit targeted before ``until`` (on or before ``latest``), one at a time, re-planning each time."""
    while True:
        plan = build_plan(protocol, subject)
        kinds = ("eot", "follow_up") if subject.last_dose is not None else ("cycle",)
        todo = [v for v in plan if v.kind in kinds and v.date is None and not v.missed
                and v.cancelled_from is None and v.code not in subject.visits and v.code != story.skip]
        todo = [v for v in todo if v.target < until or (v.kind == "eot" and v.window_start < until - dt.timedelta(days=14))]
        if not todo:
            return subject
        visit = todo[0]
        if visit.code == story.missed:
            subject = replace(subject, visits={**subject.visits, visit.code: VisitRecord(visit.code, None, True, "Subject unwell, could not travel (demo)")})
            continue
        date = visit.target
        if visit.kind == "cycle" and visit.day == 1 and visit.cycle == story.delay_cycle:
            date = visit.target + dt.timedelta(days=5)  # a delayed cycle (toxicity)
        elif visit.kind == "eot":
            date = visit.window_start + dt.timedelta(days=rng.randint(7, 14))
        elif visit.window_end > visit.window_start:
            date = visit.target + dt.timedelta(days=rng.choice([-1, 0, 0, 0, 1]))
        subject = _do_visit(protocol, subject, visit.code, min(date, latest))


def _do_visit(protocol: Protocol, subject: Subject, code: str, date: dt.date) -> Subject:
    subject = replace(subject, visits={**subject.visits, code: VisitRecord(code, date)})
    return _tick_all(protocol, subject, code, date)


def _tick_all(protocol: Protocol, subject: Subject, code: str, date: dt.date) -> Subject:
    ref = protocol.parse_visit(code)
    ticks = dict(subject.procedures)
    for item in visit_checklist(protocol, subject, ref):
        if item.status == "pending":
            ticks[(code, item.id)] = ProcedureRecord(code, item.id, "done", date)
    return replace(subject, procedures=ticks)
