"""Accounts and roles: log-ins, slowing down guessers, permissions checked by the service itself,
identifying data hidden from roles that may not see it, and investigators' signatures."""

import datetime as dt
import inspect
import sqlite3

import pytest
from helpers import PASSWORD, TODAY, calls_to, d, make_subject

from coordinator import accounts
from coordinator.errors import AccessDenied, InputError, LogInFailed
from coordinator.service import Service



@pytest.fixture
def admin(service):
    """The study database with its first account, an admin (the service is logged in as it)."""
    service.add_subject(make_subject(name="Jane Synthetic", mrn="MRN-0001"))
    service.enroll("101-001", d("2025-03-03"))
    service.add_account("admin1", "admin", PASSWORD, "Ada Admin")
    for name, role in (("coord1", "coordinator"), ("inv1", "investigator"), ("mon1", "monitor")):
        service.add_account(name, role, PASSWORD, f"{role.title()} One")
    return service


def as_user(db_path, name, password=PASSWORD) -> Service:
    service = Service.open(db_path, today=TODAY)
    service.log_in(name, password)
    return service


def audit_actions(service):
    return [(r.user, r.action) for r in service.store.audit_rows()]


def test_passwords_are_scrypt_at_owasp_cost(monkeypatch):
    monkeypatch.undo()  # the real cost, once
    assert (accounts.SCRYPT_N, accounts.SCRYPT_R, accounts.SCRYPT_P) == (2 ** 17, 8, 1)
    stored = accounts.hash_password(PASSWORD)
    assert stored.startswith("scrypt$131072$8$1$") and PASSWORD not in stored
    assert accounts.password_matches(PASSWORD, stored)
    assert not accounts.password_matches(PASSWORD + "!", stored)


def test_each_hash_keeps_its_own_cost():
    cheap = accounts.hash_password(PASSWORD)  # the tests' toy cost
    assert cheap.startswith("scrypt$16$")
    assert accounts.password_matches(PASSWORD, cheap)
    assert accounts.hash_password(PASSWORD) != cheap  # salted
    for damaged in ("", "scrypt$16$8$1$xx", "md5$abc", cheap.replace("scrypt$16", "scrypt$sixteen")):
        assert not accounts.password_matches(PASSWORD, damaged)


def test_single_user_mode_allows_everything(service):
    assert service.single_user and not service.needs_log_in()
    service.add_subject(make_subject())
    assert service.subject("101-001").initials == "ABC"
    assert service.audit()[-1].user == "tester"


def test_the_first_account_is_an_admin_and_ends_single_user_mode(service, db_path):
    with pytest.raises(InputError, match="first account must be an admin"):
        service.add_account("coord1", "coordinator", PASSWORD)
    service.add_account("admin1", "admin", PASSWORD, "Ada Admin")
    assert service.account.name == "admin1" and service.user == "admin1"
    again = Service.open(db_path, today=TODAY)
    assert again.needs_log_in()
    with pytest.raises(AccessDenied, match="log in first"):
        again.due()
    with pytest.raises(AccessDenied):
        again.add_account("intruder", "admin", PASSWORD)
    again.log_in("ADMIN1", PASSWORD)  # names ignore case
    assert again.account.name == "admin1" and again.user == "admin1"
    assert ("admin1", "login") in audit_actions(again)


def test_every_public_service_method_checks_a_permission():
    exempt = {"open", "create", "close", "may", "require", "needs_log_in", "log_in", "confirm_password",
              "add_account", "set_password"}  # these check inside (see their docstrings)
    unchecked = [name for name, member in inspect.getmembers(Service, inspect.isfunction)
                 if not name.startswith("_") and name not in exempt and not hasattr(member, "permission")]
    assert unchecked == []


@pytest.mark.parametrize("role, allowed, refused", [
    ("monitor", ["due", "audit", "verify_audit"], ["tick", "print", "export", "accounts", "site"]),
    ("coordinator", ["due", "tick", "print", "export", "audit"], ["accounts", "site", "sign"]),
    ("investigator", ["tick", "sign"], ["accounts"]),
    ("admin", ["due", "audit", "accounts", "site"], ["tick", "print", "export"]),
])
def test_roles(admin, db_path, tmp_path, role, allowed, refused):
    service = as_user(db_path, {"monitor": "mon1", "coordinator": "coord1", "investigator": "inv1", "admin": "admin1"}[role])
    actions = {
        "due": lambda: service.due(),
        "audit": lambda: service.audit(),
        "verify_audit": lambda: service.verify_audit(),
        "tick": lambda: service.tick("101-001", "C1D1", "vital_signs"),
        "print": lambda: service.requisition_pdf("101-001", "C1D1"),
        "export": lambda: service.export_file(tmp_path / "out.json"),
        "accounts": lambda: service.accounts(),
        "site": lambda: service.set_site("General Hospital"),
        "sign": lambda: service.sign_visit("101-001", "C1D1", PASSWORD),
    }
    for name in allowed:
        actions[name]()
    for name in refused:
        before = service.store.audit_rows()
        with pytest.raises(AccessDenied, match=f"{service.account.name} \\({role}\\) may not"):
            actions[name]()
        assert service.store.audit_rows() == before, name  # nothing written


def test_names_and_mrns_are_hidden_from_roles_that_may_not_see_them(admin, db_path):
    assert admin.subject("101-001").name == accounts.HIDDEN  # an admin manages accounts, not patients
    with pytest.raises(AccessDenied):
        admin.edit_subject("101-001", name="Joan Synthetic", reason="typo")
    as_user(db_path, "coord1").edit_subject("101-001", name="Joan Synthetic", reason="was Jane Synthetic")
    monitor = as_user(db_path, "mon1")
    subject = monitor.subject("101-001")
    assert (subject.name, subject.mrn, subject.initials) == (accounts.HIDDEN, accounts.HIDDEN, "ABC")
    for reader in (monitor, admin):
        text = " ".join(f"{r.old} {r.new} {r.reason}" for r in reader.audit())
        assert "Synthetic" not in text and "MRN-0001" not in text and accounts.HIDDEN in text
    coordinator = as_user(db_path, "coord1")
    assert coordinator.subject("101-001").name == "Joan Synthetic"
    assert "MRN-0001" in " ".join(str(r.new) for r in coordinator.audit())
    assert "was Jane Synthetic" in [r.reason for r in coordinator.audit()]


def test_failed_log_ins_are_recorded_and_slowed_down_after_five(admin, db_path):
    service = Service.open(db_path, today=TODAY)
    for _ in range(accounts.FREE_TRIES):
        with pytest.raises(LogInFailed, match="Wrong user name or password"):
            service.log_in("coord1", "not the password")
    assert service.store.account("coord1").failed_logins == 5
    with pytest.raises(LogInFailed, match="Too many failed log-ins for coord1: wait 2 seconds"):
        service.log_in("coord1", PASSWORD)  # even the right password waits
    assert audit_actions(service)[-6:] == [("coord1", "login_failed")] * 5 + [("coord1", "login_refused")]
    # the wait passed
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE users SET last_failed_at = '2020-01-01T00:00:00.000000Z' WHERE name = 'coord1'")
    raw.commit()
    service.log_in("coord1", PASSWORD)
    assert service.store.account("coord1").failed_logins == 0


def test_the_wait_doubles_up_to_five_minutes():
    now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)
    account = accounts.Account(1, "a", "A", "coordinator", "", None, 0, "2026-11-23T12:00:00.000000Z")
    waits = [accounts.wait_before_next_try(accounts.Account(**{**account.__dict__, "failed_logins": n}), now)
             for n in (4, 5, 6, 7, 12, 30)]
    assert waits == [0, 2, 4, 8, 256, 300]
    later = now + dt.timedelta(seconds=3)
    assert accounts.wait_before_next_try(accounts.Account(**{**account.__dict__, "failed_logins": 6}), later) == 1


def test_an_unknown_name_is_not_written_down(admin, db_path):
    service = Service.open(db_path, today=TODAY)
    with pytest.raises(LogInFailed, match="Wrong user name or password"):
        service.log_in("hunter2-typed-in-the-name-box", PASSWORD)
    last = service.store.audit_rows()[-1]
    assert (last.user, last.action, last.new, last.reason) == ("(unknown)", "login_failed", None, "no such account")
    assert "hunter2" not in str(service.store.audit_rows())


def test_disabled_accounts_and_the_last_admin(admin, db_path):
    with pytest.raises(InputError, match="last active admin"):
        admin.disable_account("admin1")
    admin.disable_account("coord1")
    with pytest.raises(LogInFailed, match="coord1 is disabled"):
        as_user(db_path, "coord1")
    with pytest.raises(InputError, match="never reused"):
        admin.add_account("COORD1", "coordinator", PASSWORD)
    admin.enable_account("coord1")
    as_user(db_path, "coord1")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        admin.store.conn.execute("DELETE FROM users WHERE name = 'coord1'")
    with pytest.raises(sqlite3.IntegrityError, match="keeps its id and name"):
        admin.store.conn.execute("UPDATE users SET name = 'someone' WHERE name = 'coord1'")


def test_account_fields_are_checked(admin):
    for kwargs, field in ((dict(name="1abc"), "name"), (dict(name="a b"), "name"), (dict(role="superuser"), "role"),
                          (dict(password="short"), "password"), (dict(name="longname12", password="LONGNAME12"), "password")):
        args = {"name": "newbie", "role": "coordinator", "password": PASSWORD, **kwargs}
        with pytest.raises(InputError) as caught:
            admin.add_account(args["name"], args["role"], args["password"])
        assert caught.value.field == field
    assert [a.name for a in admin.accounts()] == ["admin1", "coord1", "inv1", "mon1"]


def test_passwords_are_set_by_admins_or_by_their_owner(admin, db_path):
    coordinator = as_user(db_path, "coord1")
    with pytest.raises(InputError, match="give your current password"):
        coordinator.set_password("coord1", "a new long password")
    with pytest.raises(LogInFailed, match="Wrong password"):
        coordinator.set_password("coord1", "a new long password", current="not it at all")
    coordinator.set_password("coord1", "a new long password", current=PASSWORD)
    with pytest.raises(AccessDenied):
        coordinator.set_password("inv1", "a new long password")
    as_user(db_path, "coord1", "a new long password")
    admin.set_password("inv1", "another long password")
    as_user(db_path, "inv1", "another long password")
    assert "long password" not in str(admin.store.audit_rows())


def test_unlocking_is_audited_apart_from_log_ins(admin, db_path):
    coordinator = as_user(db_path, "coord1")
    with pytest.raises(LogInFailed, match="^Wrong password.$"):
        coordinator.confirm_password("not my password")
    coordinator.confirm_password(PASSWORD)
    rows = coordinator.store.audit_rows()[-2:]
    assert [(r.user, r.action, r.reason) for r in rows] == [("coord1", "login_failed", "wrong password (unlock)"),
                                                            ("coord1", "unlock", None)]


def test_an_investigator_signs_a_recorded_visit(admin, db_path):
    investigator = as_user(db_path, "inv1")
    with pytest.raises(InputError, match="C1D8 is not recorded yet"):
        investigator.sign_visit("101-001", "C1D8", PASSWORD)
    with pytest.raises(LogInFailed):
        investigator.sign_visit("101-001", "C1D1", "wrong password!")
    assert investigator.signatures("101-001") == []
    investigator.sign_visit("101-001", "C1D1", PASSWORD, "reviewed")
    [signature] = investigator.signatures("101-001")
    assert (signature.visit, signature.user, signature.display_name, signature.meaning) == (
        "C1D1", "inv1", "Investigator One", "reviewed")
    last = investigator.audit("101-001")[-1]
    assert (last.action, last.field, last.new) == ("sign", "signature.C1D1", "Investigator One (inv1): reviewed")
    with pytest.raises(sqlite3.IntegrityError, match="cannot be changed"):
        sqlite3.connect(db_path, isolation_level=None).execute("UPDATE signatures SET meaning = 'x'")
    assert not signature.changed_since
    investigator.tick("101-001", "C1D1", "vital_signs")
    investigator.tick("101-001", "C1D8", "vital_signs")  # another visit: C1D1's signature stands
    assert [s.changed_since for s in investigator.signatures("101-001")] == [True]
    investigator.sign_visit("101-001", "C1D1", PASSWORD)
    assert [s.changed_since for s in investigator.signatures("101-001")] == [True, False]


def test_signing_needs_an_account(service):
    service.add_subject(make_subject())
    service.enroll("101-001", d("2025-03-03"))
    with pytest.raises(AccessDenied, match="names a person"):
        service.sign_visit("101-001", "C1D1", PASSWORD)


def test_guesses_in_parallel_each_count(admin, db_path):
    import threading

    def guess():
        service = Service.open(db_path, today=TODAY)
        try:
            service.log_in("coord1", "a wrong guess")
        except LogInFailed:
            pass
        finally:
            service.close()
    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admin.store.account("coord1").failed_logins >= accounts.FREE_TRIES  # the rest were made to wait
    actions = [r.action for r in admin.store.audit_rows() if r.user == "coord1"]
    assert actions.count("login_failed") + actions.count("login_refused") == 8


def test_an_account_disabled_meanwhile_can_do_nothing_more(admin, db_path):
    coordinator = as_user(db_path, "coord1")
    admin.disable_account("coord1")
    with pytest.raises(AccessDenied, match="coord1 was disabled"):
        coordinator.due()


def test_a_password_that_is_not_text_is_refused_plainly(admin):
    with pytest.raises(InputError, match="bytes that are not text"):
        admin.add_account("newbie", "coordinator", "abcdefghij\udcff")


def test_the_reason_of_a_name_correction_is_hidden_too(admin, db_path):
    as_user(db_path, "coord1").edit_subject("101-001", mrn="MRN-0002", reason="chart says MRN-0002")
    row = as_user(db_path, "mon1").audit("101-001")[-1]
    assert (row.field, row.old, row.new, row.reason) == ("mrn", accounts.HIDDEN, accounts.HIDDEN, accounts.HIDDEN)


def test_an_action_is_checked_once_however_many_public_methods_it_calls(admin, db_path, monkeypatch):
    coordinator = as_user(db_path, "coord1")
    reads = calls_to(monkeypatch, coordinator.store, "account")
    coordinator.requisition_pdf("101-001", "C1D1")  # calls planned_visit, subject, site, collection_day...
    assert reads == [("account", "coord1")]
    with pytest.raises(AccessDenied):  # and the next action is checked again
        coordinator.set_site("General Hospital")
