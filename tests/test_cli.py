"""The command line is a contract: JSON shapes, exit codes, one-line errors naming subject and field."""

import json
import sqlite3
import subprocess
import sys

import pytest

from helpers import fails, ok

from coordinator import cli as cli_mod
from coordinator.cli import main


@pytest.fixture
def run(cli):
    assert cli("init")[0] == 0
    return cli


@pytest.fixture
def enrolled(run):
    ok(run("add-subject", "101-001", "--initials", "ABC", "--sex", "F", "--birth-date", "1958-04-02",
           "--consent-date", "2025-02-10", "--childbearing-potential", "yes"))
    ok(run("record-visit", "101-001", "SCR", "2025-02-20"))
    ok(run("enroll", "101-001", "2025-03-03"))
    return run


def test_due_json_contract(enrolled):
    items = json.loads(ok(enrolled("due", "--on", "2025-03-10", "--json")))
    assert items[0] == {"subject": "101-001", "visit": "C1D8", "label": "Cycle 1 Day 8", "target": "2025-03-10",
                        "window_start": "2025-03-09", "window_end": "2025-03-11", "status": "due"}
    items = json.loads(ok(enrolled("due", "--on", "2025-03-13", "--days", "3", "--json")))
    assert [(i["visit"], i["status"]) for i in items] == [("C1D8", "overdue"), ("C1D15", "upcoming")]
    assert json.loads(ok(enrolled("due", "--on", "2025-03-13", "--days", "2", "--json"))) == [items[0]]


def test_timeline_json_contract(enrolled):
    ok(enrolled("record-visit", "101-001", "C1D8", "2025-03-12"))
    tl = json.loads(ok(enrolled("timeline", "101-001", "--on", "2025-03-12", "--json")))
    assert tl["subject"] == "101-001" and tl["status"] == "on_treatment"
    v = {x["visit"]: x for x in tl["visits"]}
    assert v["C1D8"] == {"visit": "C1D8", "label": "Cycle 1 Day 8", "target": "2025-03-10",
                         "window_start": "2025-03-09", "window_end": "2025-03-11", "date": "2025-03-12",
                         "status": "done", "out_of_window": True}
    assert v["C1D15"]["status"] == "planned" and v["C1D15"]["date"] is None
    assert set(v) >= {"SCR", "C1D1", "C8D22"}


def test_checklist_json_contract(enrolled):
    ok(enrolled("tick", "101-001", "C1D8", "hematology"))
    cl = json.loads(ok(enrolled("checklist", "101-001", "C1D8", "--json")))
    assert (cl["subject"], cl["visit"]) == ("101-001", "C1D8")
    items = {p["id"]: p for p in cl["procedures"]}
    assert items["hematology"]["status"] == "done"
    assert items["pregnancy_test"]["status"] == "pending"
    assert items["pregnancy_test"]["condition"] == "Females of child-bearing potential only"
    assert set(items["hematology"]) >= {"id", "label", "category", "status", "condition"}
    assert {p["status"] for p in cl["procedures"]} <= {"pending", "done", "not_done", "not_applicable"}


def test_recording_commands(enrolled):
    run = enrolled
    ok(run("miss-visit", "101-001", "C1D15", "unwell"))
    out = ok(run("unscheduled-visit", "101-001", "2025-03-19"))
    assert "UNS1" in out
    ok(run("request", "101-001", "C1D22", "bone_marrow_cr"))
    ok(run("tick", "101-001", "C1D22", "spep", "--status", "not_done", "--why", "no sample"))
    ok(run("set-steroid", "101-001", "dexamethasone", "40", "1,8,15,22"))
    ok(run("change-dose", "101-001", "lenalidomide", "-1", "--from-cycle", "2"))
    ok(run("end-treatment", "101-001", "2025-04-02", "toxicity"))
    ok(run("event", "101-001", "progression", "2025-04-20"))
    ok(run("event", "101-001", "death", "2025-05-01"))
    tl = json.loads(ok(run("timeline", "101-001", "--on", "2025-05-02", "--json")))
    assert tl["status"] == "off_study"
    assert json.loads(ok(run("due", "--on", "2025-05-02", "--json"))) == []
    rows = json.loads(ok(run("audit", "--subject", "101-001", "--json")))
    assert [(r["action"], r["field"]) for r in rows[-5:]] == [
        ("dose_change", "dose_changes.lenalidomide.from_cycle_2"), ("end_treatment", "last_dose"),
        ("end_treatment", "end_of_treatment_reason"), ("event_progression", "events.progression"),
        ("event_death", "events.death")]
    assert all(r["user"] == "cli-tester" for r in json.loads(ok(run("audit", "--json"))))


@pytest.mark.parametrize("args, words", [
    (("record-visit", "101-001", "C1D8", "2025-03-32"), ["101-001", "date", "not a real calendar date"]),
    (("record-visit", "101-001", "C1D8", "10/03/2025"), ["101-001", "date", "YYYY-MM-DD"]),
    (("record-visit", "101-001", "C9D9", "2025-03-10"), ["101-001", "visit", "not a visit"]),
    (("record-visit", "101-009", "C1D8", "2025-03-10"), ["101-009", "no such subject"]),
    (("enroll", "101-001", "2025-03-05"), ["101-001", "c1d1", "needs a reason"]),
    (("add-subject", "101-001", "--initials", "ABC", "--sex", "F", "--birth-date", "1958-04-02",
      "--consent-date", "2025-02-10"), ["101-001", "id", "already exists"]),
    (("add-subject", "101-002", "--initials", "abc", "--sex", "F", "--birth-date", "1958-04-02",
      "--consent-date", "2025-02-10"), ["101-002", "initials"]),
    (("add-subject", "101-002", "--initials", "AB", "--sex", "F", "--birth-date", "1958-02-29",
      "--consent-date", "2025-02-10"), ["101-002", "birth_date", "not a real calendar date"]),
    (("end-treatment", "101-001", "2025-04-02", "bored"), ["101-001", "end_of_treatment_reason"]),
    (("event", "101-001", "abduction", "2025-04-02"), ["101-001", "event"]),
    (("tick", "101-001", "C1D8", "nonsense"), ["101-001", "procedures.C1D8.nonsense"]),
    (("timeline", "101-001", "--on", "2025-13-01"), ["101-001", "on"]),
    (("due", "--on", "yesterday"), ["on", "YYYY-MM-DD"]),
    (("checklist", "101-001", "C1D3"), ["101-001", "visit"]),
])
def test_bad_input_exits_2_with_one_line(enrolled, args, words):
    before = enrolled("audit", "--json")[1]
    fails(enrolled(*args), *words)
    assert enrolled("audit", "--json")[1] == before  # nothing written


def test_usage_errors_exit_2(run):
    fails(run("due", "--days", "-1"), "--days")
    fails(run("frobnicate"), "invalid choice")


@pytest.mark.parametrize("argv", [[], ["open"], ["--db", "x.db", "open", "--smoke"], ["--db", "open"],
                                  ["--user=ann", "--db=x.db", "open", "--demo", "--smoke"], ["open", "--smoke", "--demo"]])
def test_opening_the_window_is_parsed_with_the_open_command_alone_and_the_same(argv):
    assert cli_mod._opens_window(argv)
    assert vars(cli_mod.build_parser(window_only=True).parse_args(argv)) == vars(cli_mod.build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [["-h"], ["--help"], ["--version"], ["open", "-h"], ["open", "--he"], ["due"],
                                  ["--db", "x.db", "due"], ["open", "extra"], ["frobnicate"], ["--db"]])
def test_every_other_command_line_is_parsed_with_every_command(argv):
    assert not cli_mod._opens_window(argv)


def test_the_help_still_lists_every_command(run, capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    shown = capsys.readouterr().out
    assert all(f"    {name}" in shown for name in ("open", "due", "print", "backup", "restore", "site", "user"))


def test_missing_database_and_broken_protocol(tmp_path, run):
    fails(run("due", db_path=tmp_path / "none.db"), "no database at", "coordinator init")
    bad = tmp_path / "bad.toml"
    bad.write_text('format = "coordinator-protocol/1"\ncode = "X"\n')
    err = fails(run("init", "--protocol", str(bad), db_path=tmp_path / "new.db"), str(bad), "missing")
    assert not (tmp_path / "new.db").exists(), err


def test_init_with_another_protocol(tmp_path, run):
    from coordinator.protocol import BUNDLED

    other = tmp_path / "other.toml"
    other.write_text(BUNDLED.read_text().replace('code = "SEL-LEN-MM"', 'code = "NEXT-STUDY"')
                     .replace("enrollment_cap = 22", "enrollment_cap = 40"))
    ok(run("init", "--protocol", str(other), db_path=tmp_path / "next.db"))
    shown = json.loads(ok(run("protocol", "--json", db_path=tmp_path / "next.db")))
    assert (shown["code"], shown["enrollment_cap"]) == ("NEXT-STUDY", 40)


def test_export_import_through_the_cli(enrolled, tmp_path):
    out = tmp_path / "export.json"
    ok(enrolled("export", str(out)))
    ok(enrolled("init", db_path=tmp_path / "copy.db"))
    ok(enrolled("import", str(out), db_path=tmp_path / "copy.db"))
    a = ok(enrolled("timeline", "101-001", "--on", "2025-03-10", "--json"))
    b = ok(enrolled("timeline", "101-001", "--on", "2025-03-10", "--json", db_path=tmp_path / "copy.db"))
    assert a == b


def test_demo_has_subjects_at_every_stage(tmp_path, run):
    ok(run("demo", db_path=tmp_path / "demo.db"))
    subjects = json.loads(ok(run("subjects", "--json", db_path=tmp_path / "demo.db")))
    assert {s["status"] for s in subjects} == {"screening", "screen_failed", "on_treatment", "follow_up", "off_study"}
    due = json.loads(ok(run("due", "--json", db_path=tmp_path / "demo.db")))
    assert {"overdue", "due", "upcoming"} <= {i["status"] for i in due}


def test_no_command_without_a_display_creates_a_demo_and_prints_the_due_list(tmp_path, monkeypatch, capsys):
    db = tmp_path / "first-run.db"
    monkeypatch.setenv("COORDINATOR_DB", str(db))
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "No display here" in out
    assert "created a demo database" in out and "DUE" in out
    assert db.exists()


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "coordinator", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("coordinator ")


def test_planned_c1d1_and_the_screening_items_it_outlasts(enrolled):
    run = enrolled
    ok(run("add-subject", "101-002", "--initials", "DE", "--sex", "F", "--birth-date", "1960-01-01",
           "--consent-date", "2025-02-10", "--childbearing-potential", "yes", "--planned-c1d1", "2025-03-03"))
    ok(run("tick", "101-002", "SCR", "pregnancy_test_screening", "--date", "2025-02-11"))  # 20 days before: expired
    ok(run("tick", "101-002", "SCR", "hematology", "--date", "2025-02-18"))  # 13 days before: fine
    out = ok(run("due", "--on", "2025-02-26"))
    heading = "Screening items expiring before the planned cycle 1 day 1"
    assert heading in out
    lines = out.split(heading)[1].strip().splitlines()
    assert len(lines) == 1 and "101-002" in lines[0] and "pregnancy_test_screening" in lines[0]
    assert "valid until 25-Feb-2025" in lines[0]
    assert isinstance(json.loads(ok(run("due", "--on", "2025-02-26", "--json"))), list)  # the JSON contract holds
    ok(run("edit-subject", "101-002", "--planned-c1d1", "2025-02-24"))  # moved earlier: no --reason needed
    assert heading not in ok(run("due", "--on", "2025-02-20"))
    fails(run("edit-subject", "101-002", "--planned-c1d1", "2025-02-31"), "101-002", "planned_c1d1", "not a real calendar date")
    fails(run("edit-subject", "101-002", "--planned-c1d1", "2025-02-01"), "101-002", "planned_c1d1", "after the consent date")


def test_clear_tick_needs_a_reason(enrolled):
    run = enrolled
    ok(run("tick", "101-001", "C1D8", "hematology"))
    code, _, err = run("clear-tick", "101-001", "C1D8", "hematology")
    assert code == 2 and "needs a reason" in err
    assert "is to do again" in ok(run("clear-tick", "101-001", "C1D8", "hematology", "--reason", "wrong line"))


def test_print_commands_write_pdfs_and_leave_an_audit_row(enrolled, tmp_path):
    run = enrolled
    out = tmp_path / "req.pdf"
    assert "C1D8 requisition" in ok(run("print", "requisition", "101-001", "C1D8", "-o", str(out)))
    assert out.read_bytes().startswith(b"%PDF")
    out = tmp_path / "dose.pdf"
    ok(run("print", "dosing", "101-001", "2", "-o", str(out)))
    assert out.read_bytes().startswith(b"%PDF")
    out = tmp_path / "day.pdf"
    # C2D1's target is that day; of the visits never recorded, C1D22 is overdue by 6 days (in the
    # packet), C1D8 and C1D15 by more than a week (left to the dashboard)
    assert "(2 visits)" in ok(run("print", "day", "--on", "2025-03-31", "-o", str(out)))
    audit = ok(run("audit"))
    assert "requisition C1D8" in audit and "dosing form cycle 2" in audit and "day packet 2025-03-31" in audit
    fails(run("print", "requisition", "101-001", "C1D8", "-o", str(tmp_path / "no-such-folder" / "x.pdf")), "Cannot write")
    fails(run("print", "dosing", "101-001", "0", "-o", str(out)), "1 or more")


def test_site_name(run):
    assert "no site name" in ok(run("site"))
    assert ok(run("site", "Synthetic  General Hospital")).strip() == "Synthetic General Hospital"


def test_a_form_never_overwrites_the_database_or_a_folder(enrolled, tmp_path):
    run = enrolled
    db = tmp_path / "cli.db"
    fails(run("print", "requisition", "101-001", "C1D8", "-o", str(db)), "is the study's database")
    fails(run("print", "dosing", "101-001", "1", "-o", str(tmp_path)), "is a folder")
    fails(run("print", "day", "-o", ""), "is a folder")
    assert db.read_bytes().startswith(b"SQLite format 3")  # still the database, not a PDF
    assert "101-001" in ok(run("subjects"))


def test_a_backup_that_finds_the_database_damaged_offers_the_last_good_backup(enrolled, tmp_path, monkeypatch):
    from coordinator.db import backup
    run = enrolled
    (tmp_path / "backups").mkdir()
    ok(run("backup", str(tmp_path / "backups" / "cli-20260101-000000.db")))

    def damaged(source, dest):  # SQLite finds a damaged page as it copies the database
        exc = sqlite3.DatabaseError("database disk image is malformed")
        exc.sqlite_errorname = "SQLITE_CORRUPT"
        raise exc
    monkeypatch.setattr(backup, "_online_copy", damaged)
    fails(run("backup", str(tmp_path / "copy.db")), f"The backup {tmp_path / 'copy.db'} was not written. The database "
          f"{run.db} is damaged", "Nothing was changed. Restore it from a backup.",
          "The last good backup is", "cli-20260101-000000.db")
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.parametrize("form", [("requisition", "101-001", "C1D8"), ("dosing", "101-001", "1"), ("day", "--on", "2025-03-31")])
def test_a_bad_output_path_is_refused_before_the_form_is_made(enrolled, tmp_path, monkeypatch, form):
    """A form (the day's packet: many) takes a while to make: a path it cannot go to is refused first."""
    from coordinator.service import Service

    def never(*args, **kwargs):
        pytest.fail("the form was made for an output path that is refused")
    for maker in ("requisition_pdf", "dosing_pdf", "day_packet_pdf"):
        monkeypatch.setattr(Service, maker, never)
    run = enrolled
    audit = ok(run("audit", "--json"))
    db = tmp_path / "cli.db"
    for path, words in ((db, "is the study's database"), (f"{db}-wal", "is the study's database"),
                        (tmp_path, "is a folder"), ("", "is a folder"),
                        (tmp_path / "no-such-folder" / "x.pdf", f"the folder {tmp_path / 'no-such-folder'} does not exist")):
        fails(run("print", *form, "-o", str(path)), words, "Nothing was saved.")
    assert ok(run("audit", "--json")) == audit  # nothing printed, nothing audited
    assert db.read_bytes().startswith(b"SQLite format 3") and not (tmp_path / "no-such-folder").exists()


def test_an_export_to_a_bad_path_is_refused_before_the_subjects_are_read(enrolled, tmp_path, monkeypatch):
    from coordinator.service import Service

    def never(*args, **kwargs):
        pytest.fail("the subjects were read for an export that is refused")
    monkeypatch.setattr(Service, "export_document", never)
    fails(enrolled("export", str(tmp_path / "no-such-folder" / "subjects.json")), "does not exist", "Nothing was exported.")
    fails(enrolled("export", str(tmp_path / "cli.db")), "is the study's database", "Nothing was exported.")


def test_set_steroid_none(enrolled, tmp_path):
    run = enrolled
    ok(run("set-steroid", "101-001", "none"))
    ok(run("export", str(tmp_path / "out.json")))
    assert json.loads((tmp_path / "out.json").read_text())["subjects"][0]["steroid"] == {"drug": "none", "dose_mg": 0.0, "days": []}
    fails(run("set-steroid", "101-001", "none", "20", "1,8", "--reason", "x"), "takes no dose")
