"""The small forms for one fact each: enrollment, screen failure, end of treatment, events,
dose levels, the steroid, a missed or unscheduled visit.

They live together because each is a dozen lines on ``FormDialog``; the
subject screen opens them. Every one saves through one service call (one
transaction with its audit rows).
"""

from __future__ import annotations

from coordinator.errors import InputError
from coordinator.model import Subject
from coordinator.service import Change
from coordinator.ui.form import FormDialog
from coordinator.ui.steroid_fields import add_steroid_fields, typed_steroid


class _SubjectForm(FormDialog):
    def __init__(self, session, subject: Subject, title: str, intro: str = "", parent=None, **extra):
        self.subject = subject
        self.extra = extra
        # the subject is named inside the dialog, never in its title (window titles show in task bars)
        super().__init__(session, title, f"<b>Subject {subject.id}</b>. {intro}".strip(), parent)


class EnrollDialog(_SubjectForm):
    def __init__(self, session, subject, parent=None):
        service = session.service
        intro = (f"Cycle 1 day 1 is the first dose. {service.enrolled_count()} of "
                 f"{service.protocol.enrollment_cap} places are taken.")
        super().__init__(session, subject, "Enroll: cycle 1 day 1", intro, parent)

    def _build_fields(self) -> None:
        self.date_field("c1d1", "Cycle 1 day 1 (first dose)", self.subject.c1d1 or self.subject.planned_c1d1 or self.service.today)

    def submit(self, values, reason) -> Change:
        return self.service.enroll(self.subject.id, values["c1d1"], reason=reason)


class ScreenFailDialog(_SubjectForm):
    def __init__(self, session, subject, parent=None):
        super().__init__(session, subject, "Screen failure", "The subject leaves the study before the first dose.", parent)

    def _build_fields(self) -> None:
        self.date_field("screen_failure.date", "Date", self.subject.screen_failure_date or self.service.today)
        self.text_field("screen_failure.reason", "Reason", self.subject.screen_failure_reason or "",
                        placeholder="e.g. creatinine clearance below the limit")

    def submit(self, values, reason) -> Change:
        return self.service.screen_fail(self.subject.id, values["screen_failure.date"], values["screen_failure.reason"],
                                        reason=reason)


class EndTreatmentDialog(_SubjectForm):
    def __init__(self, session, subject, parent=None):
        eot = session.service.protocol.end_of_treatment
        super().__init__(session, subject, "End of treatment",
                         f"The end-of-treatment visit falls within {eot.window_days} days of the last dose.", parent)

    def _build_fields(self) -> None:
        reasons = self.service.protocol.end_of_treatment.reasons
        # nothing chosen for the user: a default here would be saved by a hurried Save
        self.date_field("last_dose", "Last dose", self.subject.last_dose, optional=True)
        self.choice_field("end_of_treatment_reason", "Reason",
                          [(None, "choose…")] + [(r, r.replace("_", " ")) for r in reasons],
                          self.subject.end_of_treatment_reason)

    def submit(self, values, reason) -> Change:
        if values["last_dose"] is None:
            raise InputError(self.subject.id, "last_dose", "give the date of the last dose")
        if values["end_of_treatment_reason"] is None:
            raise InputError(self.subject.id, "end_of_treatment_reason", "choose why treatment ended")
        return self.service.end_treatment(self.subject.id, values["last_dose"], values["end_of_treatment_reason"],
                                          reason=reason)


class EventDialog(_SubjectForm):
    """Progression, alternate therapy, death, withdrawal: the protocol's event list."""

    def __init__(self, session, subject, kind: str, parent=None):
        event = session.service.protocol.events[kind]
        intro = "This ends the subject's study: later visits are cancelled." if event.ends_study else ""
        super().__init__(session, subject, event.label, intro, parent, kind=kind)

    def _build_fields(self) -> None:
        kind = self.extra["kind"]
        self.date_field("events", "Date", self.subject.events.get(kind) or self.service.today)

    def submit(self, values, reason) -> Change:
        return self.service.record_event(self.subject.id, self.extra["kind"], values["events"], reason=reason)


class DoseDialog(_SubjectForm):
    def __init__(self, session, subject, parent=None):
        super().__init__(session, subject, "Change a dose level",
                         "The new level holds from the chosen cycle on, and shows on that cycle's dosing form.", parent)

    def _build_fields(self) -> None:
        drugs = self.service.protocol.drugs
        self.choice_field("dose_changes.drug", "Drug", [(d.id, d.name) for d in drugs])
        self.choice_field("dose_changes.level", "Level", [])
        self.int_field("dose_changes.from_cycle", "From cycle", max(1, self._current_cycle()), 1, 999)
        self.field("dose_changes.drug").currentIndexChanged.connect(self._on_drug_changed)
        self.field("dose_changes.from_cycle").valueChanged.connect(self._on_drug_changed)
        self._on_drug_changed()

    def _current_cycle(self) -> int:
        timeline = self.service.timeline(self.subject.id, self.session.day)
        return timeline.cycle_day[0] if timeline.cycle_day else 1

    def _on_drug_changed(self) -> None:
        """List the drug's levels with the subject's level in that cycle chosen: Save without a
        change must never re-escalate a reduced dose."""
        drug = next(d for d in self.service.protocol.drugs if d.id == self.field("dose_changes.drug").currentData())
        current = self.subject.dose_level(drug.id, self.field("dose_changes.from_cycle").value())
        levels = self.field("dose_changes.level")
        levels.clear()
        for level in drug.levels:
            levels.addItem(f"level {level.level}: {level.dose_mg:g} mg" + (" (current)" if level.level == current else ""),
                           level.level)
        levels.setCurrentIndex(max(levels.findData(current), 0))

    def submit(self, values, reason) -> Change:
        return self.service.change_dose(self.subject.id, values["dose_changes.drug"], values["dose_changes.level"],
                                        values["dose_changes.from_cycle"], reason=reason)


class SteroidDialog(_SubjectForm):
    def __init__(self, session, subject, parent=None):
        super().__init__(session, subject, "Steroid", "The steroid the investigator chose, its dose and its cycle days.", parent)

    def _build_fields(self) -> None:
        add_steroid_fields(self, self.subject.steroid)

    def submit(self, values, reason) -> Change:
        steroid = typed_steroid(values, self.subject.id)  # a drug is always chosen here
        return self.service.set_steroid(self.subject.id, steroid.drug, steroid.dose_mg, list(steroid.days), reason=reason)


class MissedVisitDialog(_SubjectForm):
    def __init__(self, session, subject, visit: str, parent=None):
        super().__init__(session, subject, f"Visit {visit} missed", "The visit will show as missed, with its reason.",
                         parent, visit=visit)

    def _build_fields(self) -> None:
        self.text_field("visits", "Why was it missed?", placeholder="e.g. hospitalised; patient unable to travel")

    def submit(self, values, reason) -> Change:
        if not values["visits"]:
            raise InputError(self.subject.id, "visits", "a missed visit needs its reason")
        return self.service.miss_visit(self.subject.id, self.extra["visit"], values["visits"], reason=reason)


class UnscheduledDialog(_SubjectForm):
    def __init__(self, session, subject, parent=None):
        super().__init__(session, subject, "Unscheduled visit", "Adds the next unscheduled visit (UNS1, UNS2, …).", parent)
        self.code: str | None = None

    def _build_fields(self) -> None:
        self.date_field("visits", "Date", self.service.today)
        self.text_field("notes", "Notes", placeholder="why the subject came in")

    def submit(self, values, reason) -> Change:
        change, self.code = self.service.add_unscheduled(self.subject.id, values["visits"], values["notes"])
        return change
