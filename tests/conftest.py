"""Shared fixtures. Qt tests (later) run headless: set before any Qt import."""

import datetime as dt
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from coordinator import protocol as protocol_mod  # noqa: E402
from coordinator.model import Subject  # noqa: E402
from coordinator.service import Service  # noqa: E402

TODAY = dt.date(2026, 1, 15)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture(scope="session")
def protocol():
    return protocol_mod.load()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "study.db"


@pytest.fixture
def service(db_path):
    """A fresh database of the bundled protocol, with 'today' fixed at 2026-01-15."""
    svc = Service.create(db_path, user="tester", today=TODAY)
    yield svc
    svc.close()


def make_subject(sid="101-001", sex="F", cbp=True, consent="2025-02-10", **facts) -> Subject:
    return Subject(id=sid, initials="ABC", sex=sex, birth_date=d("1958-04-02"), consent_date=d(consent),
                   childbearing_potential=cbp if sex == "F" else False, **facts)


@pytest.fixture
def enrolled(service):
    """101-001: female of child-bearing potential, consent 10-Feb-2025, C1D1 Mon 03-Mar-2025."""
    service.add_subject(make_subject())
    service.enroll("101-001", d("2025-03-03"))
    return service
