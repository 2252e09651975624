"""Test data shared by the core and the GUI tests (both conftest files import it)."""

import datetime as dt

from coordinator.model import Subject

TODAY = dt.date(2026, 1, 15)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def make_subject(sid="101-001", sex="F", cbp=True, consent="2025-02-10", **facts) -> Subject:
    return Subject(id=sid, initials="ABC", sex=sex, birth_date=d("1958-04-02"), consent_date=d(consent),
                   childbearing_potential=cbp if sex == "F" else False, **facts)


PASSWORD = "correct horse battery"  # of the tests' accounts


def ok(result):
    """A command line run (``cli``) that succeeded: its standard output."""
    code, out, err = result
    assert (code, err) == (0, ""), err
    return out


def fails(result, *words):
    """A command line run that failed as bad input does: exit 2, one line on stderr with ``words``."""
    code, out, err = result
    assert code == 2
    assert err.count("\n") == 1, err  # one line
    for word in words:
        assert word in err
    return err

# The GUI tests' staff (tests/ui/conftest.py: ``staffed``, ``window_as``)
PASSWORDS = {"ada": "ada's long password", "cora": "cora's long password", "mona": "mona's long password",
             "ivan": "ivan's long password"}
STAFF = (("cora", "coordinator", "Cora Diaz"), ("mona", "monitor", "Mona Field"), ("ivan", "investigator", "Ivan Ruiz"))
