"""Accounts from the command line: the first 'user add' ends single-user mode, and from then on
every command needs --user and a password (from $COORDINATOR_PASSWORD when there is no terminal)."""

import functools
import json
import sqlite3

import pytest
from helpers import PASSWORD, fails, ok




@pytest.fixture
def run(cli, monkeypatch):
    """The command line with nobody named unless a test names them."""
    monkeypatch.setenv("COORDINATOR_NEW_PASSWORD", PASSWORD)
    run = functools.partial(cli, user=None)
    run.db = cli.db
    assert run("init")[0] == 0
    return run


@pytest.fixture
def accounts(run):
    out = ok(run("user", "add", "boss", "--display-name", "Bea Boss"))
    assert "every command needs --user NAME and a password" in out
    ok(run("user", "add", "cora", "--role", "coordinator", user="boss", password=PASSWORD))
    ok(run("user", "add", "ivan", "--role", "investigator", "--display-name", "Dr Ivan Vest", user="boss", password=PASSWORD))
    return run


def test_single_user_mode_needs_no_log_in(run):
    ok(run("due"))
    assert "single-user mode" in ok(run("user", "list"))


def test_the_first_account_must_be_an_admin(run):
    fails(run("user", "add", "cora", "--role", "coordinator"), "first account must be an admin")


def test_every_command_then_needs_a_log_in(accounts):
    fails(accounts("due"), "This database has accounts: give --user NAME")
    fails(accounts("due", user="cora"), "No terminal to ask for the password: set COORDINATOR_PASSWORD")
    fails(accounts("due", user="cora", password="wrong password"), "Wrong user name or password")
    ok(accounts("due", user="cora", password=PASSWORD))


def test_user_list_and_roles(accounts):
    listed = json.loads(ok(accounts("user", "list", "--json", user="boss", password=PASSWORD)))
    assert [(a["name"], a["role"], a["display_name"], a["active"]) for a in listed] == [
        ("boss", "admin", "Bea Boss", True), ("cora", "coordinator", "cora", True), ("ivan", "investigator", "Dr Ivan Vest", True)]
    assert "password" not in json.dumps(listed)
    fails(accounts("user", "list", user="cora", password=PASSWORD), "cora (coordinator) may not manage accounts")
    fails(accounts("user", "add", "x1", "--role", "admin", user="cora", password=PASSWORD), "may not manage accounts")
    fails(accounts("user", "add", "x1", user="boss", password=PASSWORD), "give --role")


def test_disable_and_passwords(accounts):
    ok(accounts("user", "disable", "cora", user="boss", password=PASSWORD))
    fails(accounts("due", user="cora", password=PASSWORD), "cora is disabled")
    ok(accounts("user", "enable", "cora", user="boss", password=PASSWORD))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COORDINATOR_NEW_PASSWORD", "my own new password")
        ok(accounts("user", "password", "cora", user="cora", password=PASSWORD))
        fails(accounts("user", "password", "ivan", user="cora", password="my own new password"), "may not manage accounts")
    ok(accounts("due", user="cora", password="my own new password"))


def test_sign_from_the_command_line(accounts):
    cora = {"user": "cora", "password": PASSWORD}
    ok(accounts("add-subject", "101-001", "--initials", "ABC", "--sex", "M", "--birth-date", "1958-04-02",
                "--consent-date", "2025-02-10", **cora))
    ok(accounts("enroll", "101-001", "2025-03-03", **cora))
    fails(accounts("sign", "101-001", "C1D1", **cora), "cora (coordinator) may not sign off visits")
    out = ok(accounts("sign", "101-001", "C1D1", "--meaning", "reviewed", user="ivan", password=PASSWORD))
    assert out == "101-001 C1D1: signed by Dr Ivan Vest (ivan), reviewed.\n"
    rows = json.loads(ok(accounts("audit", "--subject", "101-001", "--json", **cora)))
    assert rows[-1]["action"] == "sign" and rows[-1]["user"] == "ivan"


def test_signing_needs_accounts_and_asks_no_password_without_them(run):
    ok(run("add-subject", "101-001", "--initials", "ABC", "--sex", "M", "--birth-date", "1958-04-02",
           "--consent-date", "2025-02-10"))
    ok(run("enroll", "101-001", "2025-03-03"))
    fails(run("sign", "101-001", "C1D1"), "A signature names a person: add accounts ('coordinator user add')")


def test_audit_verify(accounts):
    boss = {"user": "boss", "password": PASSWORD}
    out = ok(accounts("audit", "verify", **boss))
    assert out.startswith("The audit trail is intact:")
    raw = sqlite3.connect(accounts.db)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE audit SET user = 'someone' WHERE seq = 2")
    raw.commit()
    code, out, err = accounts("audit", "verify", **boss)
    assert code == 1 and out == ""
    assert "The audit trail is broken:" in err and "Row #2 does not match its hash" in err
    report = json.loads(accounts("audit", "verify", "--json", **boss)[1])
    assert report["ok"] is False and report["problems"][1].startswith("Row #2")


def test_log_ins_are_in_the_audit_trail(accounts):
    accounts("due", user="cora", password="wrong password")
    rows = json.loads(ok(accounts("audit", "--json", user="boss", password=PASSWORD)))
    actions = [(r["user"], r["action"]) for r in rows]
    assert ("cora", "login_failed") in actions and actions[-1] == ("boss", "login")
    assert ("boss", "account_add") in actions
    assert PASSWORD not in json.dumps(rows)
