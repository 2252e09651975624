"""Add a subject, or edit one's demographic facts; each refused value shows under its field."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from coordinator.errors import InputError
from coordinator.model import Subject
from coordinator.service import Change
from coordinator.ui.form import FormDialog
from coordinator.ui.session import Session
from coordinator.ui.steroid_fields import add_steroid_fields, typed_steroid

CBP_CHOICES = [(None, "not recorded yet"), (True, "yes: a female of child-bearing potential"), (False, "no")]


class SubjectDialog(FormDialog):
    def __init__(self, session: Session, subject: Subject | None, parent: QWidget | None = None):
        self.subject = subject
        title = "Add a subject" if subject is None else "Edit a subject"  # no subject id in a window title
        intro = ("Name and MRN are optional: they appear only on lab requisitions." if subject is None else
                 f"<b>Subject {subject.id}</b>. Changing a recorded value is a correction and needs a reason.")
        super().__init__(session, title, intro, parent)

    def _build_fields(self) -> None:
        s = self.subject
        if s is None:
            self.text_field("id", "Subject id", placeholder="e.g. 101-023")
        self.text_field("initials", "Initials", s.initials if s else "", placeholder="e.g. ABC")
        self.choice_field("sex", "Sex", [("F", "female"), ("M", "male")], s.sex if s else "F")
        self.date_field("birth_date", "Birth date", s.birth_date if s else None, optional=True)
        self.date_field("consent_date", "Consent signed", s.consent_date if s else self.service.today)
        self.choice_field("childbearing_potential", "Child-bearing potential", CBP_CHOICES,
                          s.childbearing_potential if s else None,
                          hint="Decides the lenalidomide pregnancy tests (females of child-bearing potential).")
        self.text_field("name", "Name (optional)", (s.name or "") if s else "")
        self.text_field("mrn", "MRN (optional)", (s.mrn or "") if s else "")
        self.date_field("planned_c1d1", "Planned cycle 1 day 1", s.planned_c1d1 if s else None, optional=True,
                        hint="The screening results must still be valid on this day: the dashboard warns before they expire.")
        if s is None:
            add_steroid_fields(self, None, not_chosen=True)
        self.field("sex").currentIndexChanged.connect(self._on_sex_changed)
        self._on_sex_changed()

    def _on_sex_changed(self) -> None:
        """A man is never of child-bearing potential; back to female, the earlier answer returns
        (or "not recorded yet"), so a woman is never saved as "no" by a slip of the sex field."""
        male = self.field("sex").currentData() == "M"
        cbp = self.field("childbearing_potential")
        if male:
            if cbp.isEnabled():
                self._cbp_before_male = cbp.currentData()
            cbp.setCurrentIndex(cbp.findData(False))
        elif not cbp.isEnabled():
            cbp.setCurrentIndex(cbp.findData(getattr(self, "_cbp_before_male", None)))
        cbp.setEnabled(not male)

    def submit(self, values: dict, reason: str | None) -> Change:
        if values["birth_date"] is None:
            raise InputError(self.subject.id if self.subject else values["id"], "birth_date", "is required")
        facts = {key: values[key] for key in ("initials", "sex", "birth_date", "consent_date", "childbearing_potential",
                                              "planned_c1d1")}
        if facts["sex"] == "M":
            facts["childbearing_potential"] = False  # the field is locked for men; never trust a stale choice
        facts["name"] = values["name"] or None
        facts["mrn"] = values["mrn"] or None
        if self.subject is not None:
            changed = {k: v for k, v in facts.items() if getattr(self.subject, k) != v}
            return self.service.edit_subject(self.subject.id, reason=reason, **changed)
        return self.service.add_subject(Subject(values["id"], steroid=typed_steroid(values, values["id"]), **facts))
