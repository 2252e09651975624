"""Backups and restores through the service and the command line: verified copies, audit rows,
a safety copy before every restore, and a damaged database replaced by its last good backup."""

import datetime as dt
import json
import os
import sqlite3

import pytest
from helpers import PASSWORD, TODAY, another_writer, fails, make_subject, ok, other_study_backup

from coordinator.errors import AccessDenied, DamagedDatabase, StoreError
from coordinator.service import Service, restore_damaged



def test_a_backup_is_verified_and_audited(enrolled, tmp_path):
    report = enrolled.backup(tmp_path / "copy.db")
    assert report.subjects == 1 and report.path == tmp_path / "copy.db"
    last = enrolled.audit()[-1]
    assert (last.action, last.field) == ("backup", "backup") and last.new.startswith("copy.db: 1 subjects")
    copy = Service.open(tmp_path / "copy.db", user="tester", today=TODAY)
    assert copy.subject("101-001") == enrolled.subject("101-001")
    assert copy.verify_audit().ok


def test_restore_brings_the_backup_back_and_keeps_what_it_replaced(enrolled, tmp_path, db_path):
    enrolled.backup(tmp_path / "monday.db")
    enrolled.add_subject(make_subject("101-002"))
    enrolled.restore(tmp_path / "monday.db", safety_folder=tmp_path / "safety")
    assert enrolled.store.subject_ids() == ["101-001"]  # this service goes on with the restored data
    [safety] = (tmp_path / "safety").glob("study-before-restore-*.db")
    assert "101-002" in Service.open(safety, user="tester").store.subject_ids()  # the restore can be undone
    rows = enrolled.audit()
    assert rows[-1].action == "restore" and rows[-1].new.startswith("from monday.db: 1 subjects")
    assert safety.name in rows[-1].reason
    assert enrolled.verify_audit().ok
    again = Service.open(db_path, user="tester", today=TODAY)
    assert again.store.subject_ids() == ["101-001"] and again.audit()[-1].action == "restore"


def test_a_bad_backup_changes_nothing(enrolled, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(os.urandom(8192))
    before = enrolled.audit()
    with pytest.raises(StoreError):
        enrolled.restore(bad, safety_folder=tmp_path / "safety")
    assert enrolled.audit() == before and not (tmp_path / "safety").exists()


def test_restoring_needs_an_admin(enrolled, tmp_path, db_path):
    enrolled.backup(tmp_path / "copy.db")
    enrolled.add_account("admin1", "admin", PASSWORD)
    enrolled.add_account("coord1", "coordinator", PASSWORD)
    coordinator = Service.open(db_path, today=TODAY)
    coordinator.log_in("coord1", PASSWORD)
    coordinator.backup(tmp_path / "mine.db")
    with pytest.raises(AccessDenied, match="may not restore a backup"):
        coordinator.restore(tmp_path / "copy.db")


def test_a_damaged_database_is_replaced_by_a_backup_and_kept_aside(enrolled, tmp_path, db_path):
    enrolled.backup(tmp_path / "good.db")
    enrolled.close()
    for extra in ("-wal", "-shm"):
        (tmp_path / f"study.db{extra}").unlink(missing_ok=True)
    db_path.write_bytes(b"garbage" * 1000)
    with pytest.raises(DamagedDatabase):
        Service.open(db_path)
    restore_damaged(db_path, tmp_path / "good.db", user="tester")
    service = Service.open(db_path, user="tester", today=TODAY)
    assert service.store.subject_ids() == ["101-001"]
    last = service.audit()[-1]
    assert last.action == "restore" and "could not be opened; it is kept beside it, renamed .before-restore-" in last.reason
    [aside] = tmp_path.glob("study.db.before-restore-*")
    assert aside.read_bytes() == b"garbage" * 1000


def test_auto_backups_rotate(enrolled, tmp_path):
    from coordinator.db import backup as backup_mod
    for n in range(4):
        enrolled.tick("101-001", "C1D1", "vital_signs", status="done" if n % 2 else "not_applicable", why="x",
                      reason="again")
        enrolled.auto_backup(tmp_path / "auto", keep=2)
    assert len(backup_mod.backups_in(tmp_path / "auto", "study")) == 2
    assert [r.action for r in enrolled.audit()].count("auto_backup") == 4
    enrolled.record_print("due list")
    assert enrolled.auto_backup(tmp_path / "auto", keep=2) is None  # nothing changed since: no new copy
    enrolled.record_visit("101-001", "C1D8", enrolled.subject("101-001").c1d1 + dt.timedelta(days=7))
    assert enrolled.auto_backup(tmp_path / "auto", keep=2) is not None


@pytest.fixture
def run(cli):
    ok(cli("init"))
    ok(cli("add-subject", "101-001", "--initials", "ABC", "--sex", "M", "--birth-date", "1958-04-02",
           "--consent-date", "2025-02-10"))
    return cli


def test_backup_and_restore_from_the_command_line(run, tmp_path):
    out = ok(run("backup", str(tmp_path / "b.db")))
    assert out.startswith(f"Backed up to {tmp_path / 'b.db'}: 1 subjects") and "verified" in out
    fails(run("backup", str(tmp_path)), "is a folder")
    ok(run("add-subject", "101-002", "--initials", "DEF", "--sex", "M", "--birth-date", "1958-04-02",
           "--consent-date", "2025-02-10"))
    fails(run("restore", str(tmp_path / "b.db")), "add --yes")  # no terminal to ask
    assert '"101-002"' in ok(run("subjects", "--json"))
    out = ok(run("restore", str(tmp_path / "b.db"), "--yes"))
    assert out.startswith(f"Restored {run.db} from {tmp_path / 'b.db'}: 1 subjects")
    assert '"101-002"' not in ok(run("subjects", "--json"))
    assert ok(run("audit", "verify")).startswith("The audit trail is intact")


def test_a_damaged_database_from_the_command_line(run, tmp_path):
    fails(run("backup", str(tmp_path / "backups" / "x.db")), "does not exist")
    (tmp_path / "backups").mkdir()
    ok(run("backup", str(tmp_path / "backups" / "cli-20260101-000000.db")))
    for extra in ("-wal", "-shm"):
        (tmp_path / f"cli.db{extra}").unlink(missing_ok=True)
    run.db.write_bytes(b"not a database" * 500)
    err = fails(run("due"), "not a coordinator database, or it is damaged")
    assert "The last good backup is" in err and "restore" in err and "cli-20260101-000000.db" in err
    ok(run("restore", str(tmp_path / "backups" / "cli-20260101-000000.db"), "--yes"))
    ok(run("due"))


def test_a_foreign_file_is_not_restored_over(run, tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    fails(run("restore", str(other), "--yes"), "not a coordinator")
    assert '"101-001"' in ok(run("subjects", "--json"))


def test_another_studys_backup_is_not_restored_over(run, tmp_path):
    fails(run("restore", str(other_study_backup(tmp_path)), "--yes"),
          "other-backup.db is a backup of study OTHER-01, not of SEL-LEN-MM")
    assert '"101-001"' in ok(run("subjects", "--json"))


def test_a_database_with_a_broken_trail_is_still_backed_up_with_a_warning(run, tmp_path):
    raw = sqlite3.connect(run.db)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE audit SET user = 'someone' WHERE seq = 2")
    raw.commit()
    raw.close()
    code, out, err = run("backup", str(tmp_path / "evidence.db"))
    assert code == 1 and out == ""
    assert "But the audit trail is broken, in the database and so in its backup: " in err and "Row #2" in err
    assert (tmp_path / "evidence.db").exists()  # the evidence kept as it is
    fails(run("restore", str(tmp_path / "evidence.db"), "--yes"), "audit trail is broken")  # never restored unknowingly


def test_a_damaged_database_is_restored_only_by_an_admin_of_its_backup(run, tmp_path, monkeypatch):
    monkeypatch.setenv("COORDINATOR_NEW_PASSWORD", PASSWORD)
    ok(run("user", "add", "boss"))
    ok(run("user", "add", "cora", "--role", "coordinator", user="boss", password=PASSWORD))
    ok(run("backup", str(tmp_path / "good.db"), user="boss", password=PASSWORD))
    for extra in ("-wal", "-shm"):
        (tmp_path / f"cli.db{extra}").unlink(missing_ok=True)
    run.db.write_bytes(b"not a database" * 500)
    fails(run("restore", str(tmp_path / "good.db"), "--yes", user="cora", password=PASSWORD), "cora (coordinator) may not restore")
    fails(run("restore", str(tmp_path / "good.db"), "--yes", user="boss", password="not the password"),
          "Wrong user name or password")
    assert run.db.read_bytes() == b"not a database" * 500  # refused: nothing touched
    ok(run("restore", str(tmp_path / "good.db"), "--yes", user="boss", password=PASSWORD))
    rows = json.loads(ok(run("audit", "--json", user="boss", password=PASSWORD)))
    assert [(r["user"], r["action"]) for r in rows[-3:]] == [("boss", "login"), ("boss", "restore"), ("boss", "login")]


def test_a_restore_and_its_audit_row_arrive_together(enrolled, tmp_path, db_path, monkeypatch):
    from coordinator.db import backup as backup_mod
    enrolled.backup(tmp_path / "monday.db")
    enrolled.add_subject(make_subject("101-002"))
    real, handed_over = backup_mod.restore, []

    def spy(copy, path, *args, **kwargs):  # what is put in place already holds its restore row
        held = Service.open(copy, user="x")
        handed_over.append(held.store.audit_rows()[-1].action)
        held.close()
        return real(copy, path, *args, **kwargs)
    monkeypatch.setattr(backup_mod, "restore", spy)
    report = enrolled.restore(tmp_path / "monday.db", safety_folder=tmp_path / "safety")
    assert handed_over == ["restore"] and enrolled.audit()[-1].action == "restore"
    assert report.audit_head == enrolled.verify_audit().head  # nothing written after the restore itself
    enrolled.add_subject(make_subject("101-002"))

    def disk_full(*_args, **_kwargs):
        raise StoreError("The disk is full. Nothing was changed.")
    monkeypatch.setattr(backup_mod, "restore", disk_full)
    with pytest.raises(StoreError):
        enrolled.restore(tmp_path / "monday.db", safety_folder=tmp_path / "safety")
    assert enrolled.store.subject_ids() == ["101-001", "101-002"] and enrolled.audit()[-1].action == "backup"
    assert not list(tmp_path.glob(".monday-restoring-*"))  # the working copy is gone


def test_rows_deleted_from_the_end_are_caught_against_the_last_backup(enrolled, db_path):
    enrolled.tick("101-001", "C1D1", "vital_signs")
    enrolled.auto_backup()
    enrolled.edit_subject("101-001", initials="XYZ", reason="typo")
    assert enrolled.verify_audit().ok and "continues the trail held by the backup study-" in enrolled.verify_audit().summary()
    raw = sqlite3.connect(db_path, isolation_level=None)  # someone hides the tick, the backup and what followed
    raw.execute("DROP TRIGGER audit_no_delete")
    last = enrolled.store.audit_rows()[-1].seq
    backup_row = [r.seq for r in enrolled.store.audit_rows() if r.action == "auto_backup"][0]
    raw.execute("DELETE FROM audit WHERE seq >= ?", (backup_row - 1,))
    raw.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'audit'", (backup_row - 2,))
    raw.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'x'); END")
    assert last > backup_row
    report = enrolled.verify_audit()
    assert not report.ok and report.problems[0].startswith(f"Row #{backup_row - 1}, which the backup study-")


def test_a_study_with_a_dose_reduction_backs_up(enrolled, tmp_path):
    """SQLite 3.40's integrity check calls dose_changes.level NULL when it is not: backups of a
    study with a dose change failed their check."""
    enrolled.change_dose("101-001", "selinexor", -1, from_cycle=2)
    report = enrolled.backup(tmp_path / "copy.db")
    assert report.subjects == 1 and not report.audit_problems
    assert enrolled.auto_backup(tmp_path / "auto") is not None


def test_two_restores_in_a_row_keep_both_safety_copies(enrolled, tmp_path):
    enrolled.backup(tmp_path / "monday.db")
    enrolled.restore(tmp_path / "monday.db", safety_folder=tmp_path / "safety")
    enrolled.restore(tmp_path / "monday.db", safety_folder=tmp_path / "safety")
    assert len(list((tmp_path / "safety").glob("study-before-restore-*.db"))) == 2


def test_a_monitor_makes_no_copies(enrolled, tmp_path, db_path):
    enrolled.add_account("admin1", "admin", PASSWORD)
    enrolled.add_account("mon1", "monitor", PASSWORD)
    monitor = Service.open(db_path, today=TODAY)
    monitor.log_in("mon1", PASSWORD)
    for copy in (lambda: monitor.auto_backup(tmp_path / "usb"), lambda: monitor.backup(tmp_path / "usb.db")):
        with pytest.raises(AccessDenied, match="mon1 \\(monitor\\) may not make backups"):
            copy()
    assert not (tmp_path / "usb").exists() and not (tmp_path / "usb.db").exists()


def test_an_export_that_cannot_be_audited_leaves_no_file(enrolled, tmp_path, db_path):
    with another_writer(db_path, enrolled), pytest.raises(StoreError, match="in use by another program"):
        enrolled.export_file(tmp_path / "subjects.json")
    assert not (tmp_path / "subjects.json").exists() and not (tmp_path / "subjects.json.part").exists()


def test_after_restoring_a_backup_from_before_accounts_the_session_goes_on_in_single_user_mode(enrolled, tmp_path):
    enrolled.backup(tmp_path / "before-accounts.db")
    enrolled.add_account("admin1", "admin", PASSWORD)  # this session goes on as admin1
    enrolled.restore(tmp_path / "before-accounts.db", safety_folder=tmp_path / "safety")
    assert enrolled.account is None and enrolled.single_user and not enrolled.needs_log_in()
    enrolled.record_visit("101-001", "C1D8", enrolled.subject("101-001").c1d1 + dt.timedelta(days=7))
    last = enrolled.audit()[-1]
    assert (last.action, last.user) == ("record_visit", "admin1")  # the same person, still named


def test_after_a_restore_an_account_the_backup_lacks_must_log_in_again(enrolled, tmp_path, db_path):
    enrolled.add_account("admin1", "admin", PASSWORD)
    enrolled.backup(tmp_path / "monday.db")
    enrolled.add_account("admin2", "admin", PASSWORD)
    service = Service.open(db_path, today=TODAY)
    service.log_in("admin2", PASSWORD)
    service.restore(tmp_path / "monday.db", safety_folder=tmp_path / "safety")
    assert service.account is None and service.needs_log_in()
    with pytest.raises(AccessDenied, match="log in first"):
        service.due()
    service.log_in("admin1", PASSWORD)
    assert service.user == "admin1" and service.due()
    service.restore(tmp_path / "monday.db", safety_folder=tmp_path / "safety")
    assert service.account.name == "admin1" and service.user == "admin1"  # the backup has it: still logged in
    assert service.audit()[-1].action == "restore"


def test_a_safety_folder_that_cannot_be_made_is_said_plainly_and_nothing_is_restored(enrolled, tmp_path):
    enrolled.backup(tmp_path / "monday.db")
    enrolled.add_subject(make_subject("101-002"))
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StoreError, match="Cannot make the backup folder .*a-file/safety: .* Nothing was restored"):
        enrolled.restore(tmp_path / "monday.db", safety_folder=tmp_path / "a-file" / "safety")
    assert enrolled.store.subject_ids() == ["101-001", "101-002"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "monday.db", "study.db", "study.db-shm", "study.db-wal"]
