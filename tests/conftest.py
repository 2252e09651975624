"""Shared fixtures. Qt tests (later) run headless: set before any Qt import."""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from coordinator import accounts  # noqa: E402
from coordinator import protocol as protocol_mod  # noqa: E402
from coordinator.service import Service  # noqa: E402
from helpers import TODAY, d, make_subject  # noqa: E402


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    """scrypt at OWASP's cost takes ~0.3 s and 128 MiB per hash: tests hash at a toy cost (each
    hash records its own parameters). tests/test_accounts.py checks the real cost once."""
    monkeypatch.setattr(accounts, "SCRYPT_N", 2 ** 4)


@pytest.fixture
def cli(tmp_path, capsys, monkeypatch):
    """The command line, run in this process: ``cli(*args, user="cli-tester", password=None,
    db_path=...)`` gives (exit code, stdout, stderr); ``password`` goes in $COORDINATOR_PASSWORD.
    ``cli.db``: the database it uses by default."""
    from coordinator.cli import main

    db = tmp_path / "cli.db"
    for name in ("COORDINATOR_DB", "COORDINATOR_USER", "COORDINATOR_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    def run(*args, user="cli-tester", password=None, db_path=db):
        if password is None:
            monkeypatch.delenv("COORDINATOR_PASSWORD", raising=False)
        else:
            monkeypatch.setenv("COORDINATOR_PASSWORD", password)
        try:
            code = main(["--db", str(db_path), *(["--user", user] if user else []), *args])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err
    run.db = db
    return run


@pytest.fixture(scope="session")
def protocol():
    return protocol_mod.load()


@pytest.fixture
def released_v1(tmp_path) -> Path:
    """A copy of tests/data/released-v1.db, made by the first released core (commit cc14c0e: init,
    one subject screened, enrolled, a dose reduction), never by this code: schema version 1."""
    path = tmp_path / "old.db"
    shutil.copy(Path(__file__).parent / "data" / "released-v1.db", path)
    return path


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "study.db"


@pytest.fixture
def service(db_path):
    """A fresh database of the bundled protocol, with 'today' fixed at 2026-01-15."""
    svc = Service.create(db_path, user="tester", today=TODAY)
    yield svc
    svc.close()


@pytest.fixture
def enrolled(service):
    """101-001: female of child-bearing potential, consent 10-Feb-2025, C1D1 Mon 03-Mar-2025."""
    service.add_subject(make_subject())
    service.enroll("101-001", d("2025-03-03"))
    return service
