"""Test data shared by the core and the GUI tests (both conftest files import it)."""

import datetime as dt

from coordinator.model import Subject

TODAY = dt.date(2026, 1, 15)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def make_subject(sid="101-001", sex="F", cbp=True, consent="2025-02-10", **facts) -> Subject:
    return Subject(id=sid, initials="ABC", sex=sex, birth_date=d("1958-04-02"), consent_date=d(consent),
                   childbearing_potential=cbp if sex == "F" else False, **facts)
