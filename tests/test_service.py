"""The service: every write with its audit row, corrections, the cap, checklists and the due list."""

from pathlib import Path

import pytest
from helpers import TODAY, d, make_subject

from coordinator.errors import CoordinatorError, InputError
from coordinator.service import Service


def audit_fields(service, subject="101-001"):
    return [(r.action, r.field, r.old, r.new, r.reason) for r in service.audit(subject)]


# -- writes and the audit trail -------------------------------------------------------------------------
def test_each_write_has_its_audit_row(enrolled):
    s = enrolled
    s.record_visit("101-001", "C1D8", d("2025-03-10"))
    rows = s.audit("101-001")
    assert [r.action for r in rows] == ["add_subject", "enroll", "record_visit"]
    last = rows[-1]
    assert (last.user, last.field, last.old, last.new) == ("tester", "visits.C1D8", None, '{"date":"2025-03-10","visit":"C1D8"}')
    assert last.at.endswith("Z") and last.at.startswith(str(TODAY.year))  # UTC, wall clock year
    assert rows[1].field == "c1d1" and rows[1].new == "2025-03-03"


def test_correction_needs_a_reason_and_keeps_old_and_new(enrolled):
    s = enrolled
    s.record_visit("101-001", "C1D8", d("2025-03-10"))
    with pytest.raises(InputError, match=r"101-001: visits\.C1D8: already recorded .* needs a reason"):
        s.record_visit("101-001", "C1D8", d("2025-03-11"))
    assert s.subject("101-001").visits["C1D8"].date == d("2025-03-10")
    s.record_visit("101-001", "C1D8", d("2025-03-11"), reason="typo in date")
    action, field, old, new, reason = audit_fields(s)[-1]
    assert (field, reason) == ("visits.C1D8", "typo in date")
    assert "2025-03-10" in old and "2025-03-11" in new


def test_moving_c1d1_is_a_correction_and_moves_the_plan(enrolled):
    s = enrolled
    with pytest.raises(InputError, match="c1d1: already recorded as 2025-03-03"):
        s.enroll("101-001", d("2025-03-05"))
    s.enroll("101-001", d("2025-03-05"), reason="first dose given two days later")
    tl = {v.visit.code: v.visit for v in s.timeline("101-001").visits}
    assert tl["C1D8"].target == d("2025-03-12")
    assert tl["SCR"].window_start == d("2025-02-19")


def test_rejected_write_leaves_data_and_audit_untouched(enrolled):
    s = enrolled
    before = (s.subject("101-001"), len(s.audit()), s.store.plan("101-001"))
    with pytest.raises(InputError, match="101-001: visits.C1D8: 2025-02-20 is not after cycle 1 day 1"):
        s.record_visit("101-001", "C1D8", d("2025-02-20"))
    with pytest.raises(InputError, match="in the future"):
        s.record_visit("101-001", "C1D8", d("2030-01-01"))
    with pytest.raises(InputError, match="'C2D8' is not a visit of this protocol"):
        s.record_visit("101-001", "C2D8", d("2025-04-07"))
    assert (s.subject("101-001"), len(s.audit()), s.store.plan("101-001")) == before


def test_duplicate_subject(service):
    service.add_subject(make_subject())
    with pytest.raises(InputError, match="101-001: id: a subject with this id already exists"):
        service.add_subject(make_subject())


@pytest.mark.parametrize("facts, field", [
    (dict(sex="M", cbp=True), "childbearing_potential"),
    (dict(consent="2026-02-01"), "consent_date"),
    (dict(c1d1=d("2025-02-01")), "c1d1"),
])
def test_invalid_subject_names_the_field(service, facts, field):
    sex = facts.pop("sex", "F")
    subject = make_subject(sex=sex, **facts)
    if sex == "M":
        from dataclasses import replace
        subject = replace(subject, childbearing_potential=True)
    with pytest.raises(InputError) as info:
        service.add_subject(subject)
    assert info.value.subject == "101-001" and info.value.field == field
    assert service.store.subject_ids() == []


def test_cap_counts_everyone_who_ever_started(service, protocol):
    for i in range(1, 24):
        service.add_subject(make_subject(sid=f"101-{i:03d}"))
    for i in range(1, 23):
        service.enroll(f"101-{i:03d}", d("2025-03-03"))
    service.end_treatment("101-001", d("2025-03-20"), "toxicity")  # stopping does not free a place
    with pytest.raises(InputError, match=r"101-023: c1d1: enrollment is full: 22 of 22"):
        service.enroll("101-023", d("2025-03-03"))
    assert service.subject("101-023").c1d1 is None
    assert service.enrolled_count() == 22


def test_events_end_treatment_and_steroid(enrolled):
    s = enrolled
    s.set_steroid("101-001", "dexamethasone", 40, [1, 8, 15, 22])
    s.change_dose("101-001", "selinexor", -1, from_cycle=3)
    assert s.subject("101-001").dose_level("selinexor", 2) == 0
    assert s.subject("101-001").dose_level("selinexor", 3) == -1
    with pytest.raises(InputError, match="dose_changes.level: -3 is not a dose level of Selinexor"):
        s.change_dose("101-001", "selinexor", -3, from_cycle=4)
    with pytest.raises(InputError, match="end_of_treatment_reason: 'bored' must be one of"):
        s.end_treatment("101-001", d("2025-04-20"), "bored")
    s.end_treatment("101-001", d("2025-04-20"), "progression")
    s.record_event("101-001", "progression", d("2025-04-18"))
    assert s.timeline("101-001", d("2025-04-21")).status == "follow_up"
    s.record_event("101-001", "death", d("2025-05-01"))
    assert s.timeline("101-001", d("2025-05-01")).status == "off_study"
    assert [i for i in s.due(d("2025-05-02"), 30) if i.subject == "101-001"] == []
    with pytest.raises(InputError, match="after the subject left the study"):
        s.record_visit("101-001", "EOT", d("2025-05-05"))


# -- checklists ---------------------------------------------------------------------------------------
def statuses(checklist):
    return {item.id: item.status for item in checklist.items}


def test_checklist_pregnancy_test_only_for_fcbp(service):
    service.add_subject(make_subject("101-001", sex="F", cbp=True, c1d1=d("2025-03-03")))
    service.add_subject(make_subject("101-002", sex="F", cbp=False, c1d1=d("2025-03-03")))
    service.add_subject(make_subject("101-003", sex="M", c1d1=d("2025-03-03")))
    assert statuses(service.checklist("101-001", "C1D8"))["pregnancy_test"] == "pending"
    assert statuses(service.checklist("101-002", "C1D8"))["pregnancy_test"] == "not_applicable"
    item = [i for i in service.checklist("101-003", "C2D1").items if i.id == "pregnancy_test"][0]
    assert (item.status, item.condition) == ("not_applicable", "Females of child-bearing potential only")


def test_checklist_ticks_and_on_request_marrow(enrolled):
    s = enrolled
    assert statuses(s.checklist("101-001", "C2D22"))["bone_marrow_cr"] == "not_applicable"
    s.request("101-001", "C2D22", "bone_marrow_cr")
    assert statuses(s.checklist("101-001", "C2D22"))["bone_marrow_cr"] == "pending"
    with pytest.raises(InputError, match="only an on-request procedure can be requested"):
        s.request("101-001", "C2D22", "spep")
    s.tick("101-001", "C1D8", "hematology")
    s.tick("101-001", "C1D8", "chemistry", "not_done", why="haemolysed sample")
    with pytest.raises(InputError, match="'not done' needs a reason"):
        s.tick("101-001", "C1D8", "amylase", "not_done")
    with pytest.raises(InputError, match="Urinalysis is not on the schedule of visit C1D8"):
        s.tick("101-001", "C1D8", "urinalysis")
    st = statuses(s.checklist("101-001", "C1D8"))
    assert (st["hematology"], st["chemistry"], st["amylase"]) == ("done", "not_done", "pending")
    categories = [i.category for i in s.checklist("101-001", "C1D8").items]
    assert categories == sorted(categories, key=list(s.protocol.categories).index)


def test_screening_item_done_too_early_is_flagged_for_repeat(service):
    service.add_subject(make_subject(consent="2025-01-20"))
    service.record_visit("101-001", "SCR", d("2025-02-12"))
    service.tick("101-001", "SCR", "bone_marrow", date=d("2025-02-01"))
    service.tick("101-001", "SCR", "hematology", date=d("2025-02-01"))
    service.tick("101-001", "SCR", "pregnancy_test_screening")  # on the SCR visit date, 12-Feb
    service.enroll("101-001", d("2025-02-24"))  # marrow 23 days before: fine; hematology 23 days: repeat
    items = {i.id: i for i in service.checklist("101-001", "SCR").items}
    assert items["bone_marrow"].status == "done"
    assert items["hematology"].status == "pending" and items["hematology"].repeat
    assert "more than 14 days before cycle 1 day 1 (2025-02-24): repeat" in items["hematology"].note
    assert items["pregnancy_test_screening"].status == "done"  # 12 days before: within 10-14
    service.enroll("101-001", d("2025-02-20"), reason="moved earlier")  # pregnancy test now only 8 days before
    items = {i.id: i for i in service.checklist("101-001", "SCR").items}
    assert items["pregnancy_test_screening"].repeat
    assert "not at least 10 days before" in items["pregnancy_test_screening"].note
    assert items["hematology"].repeat  # 19 days before: still more than 14
    service.enroll("101-001", d("2025-02-14"), reason="moved again")  # hematology now 13 days before
    assert statuses(service.checklist("101-001", "SCR"))["hematology"] == "done"


# -- the due list --------------------------------------------------------------------------------------------
def test_due_list_order_and_statuses(service):
    service.add_subject(make_subject("101-001", c1d1=d("2025-03-03")))   # C1D8 window 09-11 Mar
    service.add_subject(make_subject("101-002", c1d1=d("2025-03-02")))   # C1D8 window 08-10 Mar
    service.add_subject(make_subject("101-003", c1d1=d("2025-02-24")))   # C1D8 overdue since 05-Mar (window to 04-Mar)
    service.add_subject(make_subject("101-004", c1d1=d("2025-02-28")))   # C1D8 window 06-08: 2 days late on 10-Mar
    service.add_subject(make_subject("101-005", consent="2025-03-05"))   # screening due until 19-Mar
    for sid in ("101-001", "101-002", "101-003", "101-004"):
        service.record_visit(sid, "SCR", d("2025-02-20"))
    items = service.due(d("2025-03-10"), days=7)
    got = [(i.subject, i.visit, i.status) for i in items]
    assert got[:4] == [("101-003", "C1D8", "overdue"), ("101-004", "C1D8", "overdue"),
                       ("101-002", "C1D8", "due"), ("101-001", "C1D8", "due")]
    assert ("101-005", "SCR", "due") in got
    upcoming = [i for i in items if i.status == "upcoming"]
    assert upcoming and all(d("2025-03-10") < i.window_start <= d("2025-03-17") for i in upcoming)
    assert [i.window_start for i in upcoming] == sorted(i.window_start for i in upcoming)
    assert items[0].as_json() == {"subject": "101-003", "visit": "C1D8", "label": "Cycle 1 Day 8",
                                  "target": "2025-03-03", "window_start": "2025-03-02",
                                  "window_end": "2025-03-04", "status": "overdue"}


def test_due_list_follows_recorded_facts(enrolled):
    s = enrolled
    assert [(i.visit, i.status) for i in s.due(d("2025-03-10"), 0)] == [("SCR", "overdue"), ("C1D8", "due")]
    s.record_visit("101-001", "SCR", d("2025-02-20"))
    assert [(i.visit, i.status) for i in s.due(d("2025-03-10"), 0)] == [("C1D8", "due")]
    s.record_visit("101-001", "C1D8", d("2025-03-10"))
    assert s.due(d("2025-03-10"), 0) == []
    assert [i.visit for i in s.due(d("2025-03-10"), 7)] == ["C1D15"]
    # a date after --on does not count yet: on 09-Mar C1D8 was still due
    assert [i.visit for i in s.due(d("2025-03-09"), 0)] == ["C1D8"]


def test_a_screening_subjects_planned_first_dose_is_on_the_timeline(service):
    """Its pre-dose checklist is worked through before it happens: the window, the command line
    and the JSON all list cycle 1 day 1 on its planned day, graded as the due list grades it;
    without a planned day there is no date to show it on."""
    service.add_subject(make_subject("101-001", consent="2025-02-10", planned_c1d1=d("2025-03-03")))
    visits = service.timeline("101-001", d("2025-02-20")).visits
    assert [(tv.visit.code, tv.status) for tv in visits] == [("SCR", "due"), ("C1D1", "planned")]
    assert visits[-1].visit.target == d("2025-03-03")
    assert service.timeline("101-001", d("2025-03-03")).visits[-1].status == "due"
    assert service.timeline("101-001", d("2025-03-05")).visits[-1].status == "overdue"  # as the dashboard says
    service.edit_subject("101-001", planned_c1d1=None)
    assert [tv.visit.code for tv in service.timeline("101-001", d("2025-02-21")).visits] == ["SCR"]
    service.edit_subject("101-001", planned_c1d1=d("2025-03-03"))
    service.enroll("101-001", d("2025-03-03"))  # in the plan now: listed once
    assert [tv.visit.code for tv in service.timeline("101-001").visits].count("C1D1") == 1
    service.add_subject(make_subject("101-002", consent="2025-02-10"))
    service.screen_fail("101-002", d("2025-02-25"), "eligibility")
    assert "C1D1" not in [tv.visit.code for tv in service.timeline("101-002", d("2025-02-26")).visits]


def test_unscheduled_visits_are_numbered(enrolled):
    _, first = enrolled.add_unscheduled("101-001", d("2025-03-12"))
    _, second = enrolled.add_unscheduled("101-001", d("2025-03-13"))
    assert (first, second) == ("UNS1", "UNS2")
    codes = [v.visit.code for v in enrolled.timeline("101-001").visits]
    assert codes.index("UNS1") > codes.index("C1D8")


def test_plan_cache_is_rebuilt_when_the_engine_changes(enrolled, db_path):
    enrolled.store.db.execute("DELETE FROM plan")
    enrolled.store.db.execute("UPDATE meta SET value = 'old' WHERE key = 'plan_version'")
    enrolled.close()
    reopened = Service.open(db_path, today=TODAY)
    assert [v.code for v in reopened.store.plan("101-001")][:3] == ["SCR", "C1D1", "C1D8"]


def test_a_quick_open_leaves_a_plan_rebuild_to_a_full_open(enrolled, db_path):
    """The app opens at once on the GUI thread what needs no slow work; the rest (here every plan
    to rebuild after the schedule rules changed) it opens fully on a worker thread first."""
    enrolled.close()
    quick = Service.open_if_quick(db_path, user="tester")
    assert quick.store.subject_ids() == ["101-001"] and quick.store.plan("101-001")
    quick.store.conn.execute("UPDATE meta SET value = 'old' WHERE key = 'plan_version'")
    quick.store.conn.commit()
    quick.close()
    assert Service.open_if_quick(db_path, user="tester") is None
    Service.open(db_path, today=TODAY).close()  # rebuilds them
    Service.open_if_quick(db_path, user="tester").close()


def test_a_quick_open_leaves_a_crashed_sessions_log_to_a_full_open(enrolled, db_path):
    """A window that crashed leaves its last writes in the write-ahead log: the next open reads
    them all back, which on a large log is slow work for the worker thread, not the GUI thread."""
    import subprocess
    import sys

    enrolled.close()
    crash = ("import os, sys\nfrom coordinator.service import Service\n"
             "s = Service.open(sys.argv[1], user='tester')\ns.store.conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
             "s.set_site('After the crash')\nos._exit(0)")  # no close: the log is not written back
    subprocess.run([sys.executable, "-c", crash, str(db_path)], check=True)
    assert Path(f"{db_path}-wal").stat().st_size > 0
    assert Service.open_if_quick(db_path, user="tester") is None
    full = Service.open(db_path, user="tester", today=TODAY)  # as the worker thread opens it
    assert full.site() == "After the crash"
    full.close()
    Service.open_if_quick(db_path, user="tester").close()


def test_a_quick_open_leaves_pending_migrations_to_a_full_open(released_v1):
    """A database of an older schema is never migrated by the quick open on the GUI thread: it
    opens nothing and changes nothing, and the full open (on a worker thread) migrates it."""
    import sqlite3

    path = released_v1

    def state():
        conn = sqlite3.connect(path)
        try:
            return (conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0],
                    conn.execute("SELECT value FROM meta WHERE key = 'plan_version'").fetchone(),
                    conn.execute("SELECT count(*) FROM audit").fetchone()[0])
        finally:
            conn.close()

    before = state()
    assert before[0] == 1
    assert Service.open_if_quick(path, user="tester") is None
    assert state() == before
    Service.open(path, user="tester", today=TODAY).close()  # migrates it
    assert state()[0] == 4
    Service.open_if_quick(path, user="tester").close()


def test_a_protocol_already_read_from_the_database_is_not_parsed_again(enrolled, db_path):
    """A worker thread's reads open the database again; the window's protocol is reused while
    the database holds the same text (parsing it takes as long as the read of a small study)."""
    from coordinator import protocol as protocol_mod
    window = Service.open(db_path, today=TODAY)
    worker = Service.open(db_path, today=TODAY, protocol=window.protocol)
    assert worker.protocol is window.protocol
    worker.close()
    other = protocol_mod.loads(window.protocol.text, source="elsewhere.toml")  # another file's, same text
    worker = Service.open(db_path, today=TODAY, protocol=other)
    assert worker.protocol is not other and worker.protocol == window.protocol
    worker.close()
    window.close()


def test_due_query_agrees_with_the_engine(tmp_path, protocol):
    """The due list is graded in SQL for speed; it must say exactly what visit_status says."""
    import datetime as dt

    from coordinator import demo
    svc = Service.create(tmp_path / "demo.db", user="tester", today=TODAY)
    svc.import_subjects(demo.demo_subjects(protocol, TODAY))
    plans = {sid: svc.store.plan(sid) for sid in svc.store.subject_ids()}
    rank = {"overdue": 0, "due": 1, "upcoming": 2}
    for offset in range(-700, 90, 9):
        on = TODAY + dt.timedelta(days=offset)
        for days in (0, 7, 30):
            expected = []
            for sid, plan in plans.items():
                for v in plan:
                    status = v.status(on)
                    if status == "overdue":
                        expected.append((sid, v.code, status, (on - v.window_end).days, v.target))
                    elif status == "due":
                        expected.append((sid, v.code, status, (v.window_end - on).days, v.target))
                    elif status == "planned" and v.window_start <= on + dt.timedelta(days=days):
                        expected.append((sid, v.code, "upcoming", (v.window_start - on).days, v.target))
            expected.sort(key=lambda e: (rank[e[2]], -e[3] if e[2] == "overdue" else e[3], e[4], e[0], e[1]))
            got = [(i.subject, i.visit, i.status, i.days, i.target)
                   for i in svc.store.due(on, on + dt.timedelta(days=days))]  # the plans' part of svc.due
            assert got == expected, on


def test_a_planned_first_dose_is_on_the_due_list_as_a_visit_of_one_day(service):
    """Cycle 1 day 1 is in no plan until it is given, yet it is the day that matters most: the due
    list (the dashboard, the day's packet) has it from its planned day, until the subject is enrolled,
    fails screening or is re-planned."""
    service.add_subject(make_subject("101-001", consent="2025-02-10", planned_c1d1=d("2025-03-03")))
    service.record_visit("101-001", "SCR", d("2025-02-20"))
    service.add_subject(make_subject("101-002", consent="2025-02-10"))  # no planned day: not listed

    def listed(on, days=7):
        return [(i.subject, i.visit, i.status, i.days, i.label) for i in service.due(d(on), days) if i.visit == "C1D1"]

    assert listed("2025-02-20") == []  # 11 days ahead
    assert listed("2025-02-25") == [("101-001", "C1D1", "upcoming", 6, "Cycle 1 Day 1 (baseline, first dose)")]
    assert listed("2025-03-03", 0) == [("101-001", "C1D1", "due", 0, "Cycle 1 Day 1 (baseline, first dose)")]
    assert listed("2025-03-05") == [("101-001", "C1D1", "overdue", 2, "Cycle 1 Day 1 (baseline, first dose)")]
    assert ("101-001", "C1D1") in service.day_packet(d("2025-03-03"))
    # once its day has passed it stays on the dashboard, but the packet prints no calendar from a day nobody planned
    assert ("101-001", "C1D1") not in service.day_packet(d("2025-03-05"))
    service.enroll("101-001", d("2025-03-05"))
    assert listed("2025-03-05") == []
    service.edit_subject("101-002", planned_c1d1=d("2025-03-10"))
    service.screen_fail("101-002", d("2025-03-06"), "eligibility")
    assert listed("2025-03-10") == []


def test_an_undated_tick_counts_from_its_visit_and_a_date_can_be_added(service):
    service.add_subject(make_subject(consent="2025-01-20"))
    service.tick("101-001", "SCR", "hematology")  # ticked before the visit date is entered
    service.record_visit("101-001", "SCR", d("2025-02-25"))
    service.enroll("101-001", d("2025-03-03"))
    assert statuses(service.checklist("101-001", "SCR"))["hematology"] == "done"  # 6 days before: valid
    service.tick("101-001", "SCR", "hematology", date=d("2025-02-24"))  # adding a date is no correction
    assert service.subject("101-001").procedures[("SCR", "hematology")].date == d("2025-02-24")
    with pytest.raises(InputError, match="needs a reason"):
        service.tick("101-001", "SCR", "hematology", date=d("2025-02-23"))


def test_pre_dose_checks_of_cycle_1_day_1_before_the_first_dose_is_recorded(service):
    service.add_subject(make_subject())
    service.tick("101-001", "C1D1", "pregnancy_test", date=d("2025-03-02"))
    assert statuses(service.checklist("101-001", "C1D1"))["pregnancy_test"] == "done"
    with pytest.raises(InputError, match="EOT is not in this subject's schedule yet: record the last dose first"):
        service.tick("101-001", "EOT", "spep")


def test_a_death_learned_late_can_be_recorded_after_a_missed_visit(enrolled):
    enrolled.miss_visit("101-001", "C1D15", "did not attend")
    enrolled.record_event("101-001", "death", d("2025-03-14"))
    assert enrolled.timeline("101-001", d("2025-03-20")).status == "off_study"
    assert enrolled.due(d("2025-03-20"), 30) == []


def test_seen_on_day_1_but_not_dosed(enrolled):
    enrolled.record_visit("101-001", "C2D1", d("2025-03-31"))  # progression found, no dose given
    enrolled.end_treatment("101-001", d("2025-03-24"), "progression")
    tl = {v.visit.code: v.status for v in enrolled.timeline("101-001", d("2025-04-01")).visits}
    assert (tl["C2D1"], tl["C2D22"], tl["EOT"]) == ("done", "cancelled", "due")


def test_far_horizons_are_a_clear_error(enrolled):
    with pytest.raises(InputError, match="past the end of the calendar"):
        enrolled.due(d("9999-12-30"), 7)


def test_screening_item_of_unknown_date_is_not_taken_as_valid(service, tmp_path):
    doc = {"format": "coordinator-subjects/1", "subjects": [{
        "id": "101-001", "initials": "AB", "sex": "F", "childbearing_potential": True, "birth_date": "1960-01-01",
        "consent_date": "2025-02-10", "c1d1": "2025-03-03",
        "procedures": [{"visit": "SCR", "procedure": "pregnancy_test_screening", "status": "done"}]}]}
    path = tmp_path / "in.json"
    import json
    path.write_text(json.dumps(doc))
    service.import_file(path)
    item = {i.id: i for i in service.checklist("101-001", "SCR").items}["pregnancy_test_screening"]
    assert item.status == "pending" and "unrecorded date" in item.note


def test_no_such_subject_and_visit_outside_the_plan(enrolled):
    with pytest.raises(InputError) as info:
        enrolled.timeline("999-999")
    assert (info.value.subject, info.value.field) == ("999-999", "subject")
    with pytest.raises(InputError, match="C30D22 is not in this subject's schedule"):
        enrolled.checklist("101-001", "C30D22")
    with pytest.raises(InputError, match="PDFU1 is not in this subject's schedule"):
        enrolled.tick("101-001", "PDFU1", "spep")


def test_facts_after_leaving_the_study_are_refused(service):
    service.add_subject(make_subject())
    service.record_event("101-001", "death", d("2025-02-25"))
    with pytest.raises(InputError, match="c1d1: 2025-03-03 is after the subject left the study"):
        service.enroll("101-001", d("2025-03-03"))
    with pytest.raises(InputError, match="events.progression: .* after the subject left the study"):
        service.record_event("101-001", "progression", d("2025-03-01"))
    with pytest.raises(InputError, match="in the future"):
        service.add_subject(make_subject("101-002", c1d1=d("2026-02-01")))


def test_a_male_subject_is_never_offered_a_pregnancy_test(service):
    from coordinator.model import Subject

    service.add_subject(Subject(id="101-009", initials="MN", sex="M", birth_date=d("1950-01-01"),
                                consent_date=d("2025-02-10"), c1d1=d("2025-03-03")))
    assert service.subject("101-009").childbearing_potential is False
    assert statuses(service.checklist("101-009", "C1D8"))["pregnancy_test"] == "not_applicable"


# -- the planned cycle 1 day 1 -----------------------------------------------------------------------------
def test_planned_c1d1_before_consent_is_refused_and_nothing_written(service):
    service.add_subject(make_subject(consent="2025-02-10"))
    before = (service.subject("101-001"), len(service.audit()))
    with pytest.raises(InputError) as info:
        service.edit_subject("101-001", planned_c1d1=d("2025-02-03"))
    assert (info.value.subject, info.value.field) == ("101-001", "planned_c1d1")
    assert "2025-02-03 must be after the consent date 2025-02-10" in info.value.problem
    with pytest.raises(InputError, match="planned_c1d1: 2025-02-10 must be after the consent date"):
        service.edit_subject("101-001", planned_c1d1=d("2025-02-10"))
    assert (service.subject("101-001"), len(service.audit())) == before
    with pytest.raises(InputError, match="101-002: planned_c1d1: .* must be after the consent date"):
        service.add_subject(make_subject("101-002", planned_c1d1=d("2025-01-01")))
    assert service.store.subject_ids() == ["101-001"]


def test_the_planned_c1d1_is_a_plan_changing_it_needs_no_reason(service):
    service.add_subject(make_subject())
    service.edit_subject("101-001", planned_c1d1=d("2025-03-03"))
    service.edit_subject("101-001", planned_c1d1=d("2025-03-10"))  # moved: no reason asked
    assert service.subject("101-001").planned_c1d1 == d("2025-03-10")
    service.edit_subject("101-001", planned_c1d1=None)  # cleared: no reason asked
    assert service.subject("101-001").planned_c1d1 is None
    assert audit_fields(service)[-3:] == [("edit_subject", "planned_c1d1", None, "2025-03-03", None),
                                          ("edit_subject", "planned_c1d1", "2025-03-03", "2025-03-10", None),
                                          ("edit_subject", "planned_c1d1", "2025-03-10", None, None)]
    with pytest.raises(InputError, match="initials: already recorded as ABC: a correction needs a reason"):
        service.edit_subject("101-001", initials="ABD")  # a recorded fact still does
    service.edit_subject("101-001", planned_c1d1=d("2025-03-03"))
    service.enroll("101-001", d("2025-03-04"))
    assert service.subject("101-001").planned_c1d1 == d("2025-03-03")  # kept, though moot now


# -- screening results that will not last until the planned cycle 1 day 1 --------------------------------
def screened(sid, planned, ticks, **facts):
    """A subject whose screening items in ``ticks`` (procedure -> date) are done."""
    from coordinator.model import ProcedureRecord

    procedures = {("SCR", p): ProcedureRecord("SCR", p, "done", d(day)) for p, day in ticks.items()}
    return make_subject(sid, consent="2025-01-20", planned_c1d1=d(planned) if planned else None,
                        procedures=procedures, **facts)


def test_screening_expiries_lists_exactly_what_will_not_last(service):
    # pregnancy test: 10 to 14 days before C1D1; hematology: 14 days; bone marrow: 28 days
    service.import_subjects([
        screened("101-001", "2025-03-03", {"pregnancy_test_screening": "2025-02-11",  # 20 days before: expired
                                           "bone_marrow": "2025-02-11",  # 20 of 28 days: fine
                                           "hematology": "2025-02-17"}),  # 14 days before: just fine
        screened("101-002", "2025-03-03", {"pregnancy_test_screening": "2025-02-19",  # 12 days: fine
                                           "hematology": "2025-02-16"}),  # 15 days: expired
        screened("101-003", "2025-03-10", {"pregnancy_test_screening": "2025-03-05"}),  # 5 days: too recent
        screened("101-004", "2025-03-03", {"pregnancy_test_screening": "2025-02-11"}, c1d1=d("2025-03-03")),  # dosed
        screened("101-005", "2025-03-03", {"pregnancy_test_screening": "2025-02-11"},
                 screen_failure_date=d("2025-02-20"), screen_failure_reason="synthetic"),
        screened("101-006", None, {"pregnancy_test_screening": "2025-02-11"}),  # nothing planned
        screened("101-007", "2025-03-03", {"hematology": "2025-02-11"}, events={"withdrawal": d("2025-02-28")}),
    ])
    got = [(e.subject, e.procedure, e.done, e.valid_until, e.planned_c1d1) for e in service.screening_expiries()]
    assert got == [("101-001", "pregnancy_test_screening", d("2025-02-11"), d("2025-02-25"), d("2025-03-03")),
                   ("101-002", "hematology", d("2025-02-16"), d("2025-03-02"), d("2025-03-03")),
                   ("101-003", "pregnancy_test_screening", d("2025-03-05"), d("2025-03-19"), d("2025-03-10"))]
    first, _, recent = service.screening_expiries()
    assert (first.initials, first.label) == ("ABC", service.protocol.procedures["pregnancy_test_screening"].label)
    assert "more than 14 days before cycle 1 day 1 (2025-03-03)" in first.problem
    assert "not at least 10 days before cycle 1 day 1 (2025-03-10)" in recent.problem
    # withdrawn on 28-Feb: still awaiting the first dose the day before
    assert [e.subject for e in service.screening_expiries(d("2025-02-27"))] == ["101-001", "101-007", "101-002", "101-003"]


def test_screening_expiries_follow_the_planned_date(service):
    service.add_subject(screened("101-001", "2025-03-03", {"hematology": "2025-02-17"}))
    assert service.screening_expiries() == []
    service.edit_subject("101-001", planned_c1d1=d("2025-03-04"))
    assert [e.valid_until for e in service.screening_expiries()] == [d("2025-03-03")]
    service.enroll("101-001", d("2025-03-03"))
    assert service.screening_expiries() == []


# -- checklist progress ------------------------------------------------------------------------------------
def test_progress_counts_match_the_checklist(service):
    from coordinator.service import Progress

    service.add_subject(make_subject("101-001", sex="M", c1d1=d("2025-03-03")))
    service.add_subject(make_subject("101-002", sex="F", cbp=True, c1d1=d("2025-03-03")))
    service.add_subject(make_subject("101-003", consent="2025-02-20"))  # awaiting the first dose
    for sid in ("101-001", "101-002"):
        service.tick(sid, "C1D8", "hematology")
        service.tick(sid, "C1D8", "vital_signs")
        service.tick(sid, "C1D8", "chemistry", "not_done", why="haemolysed sample")
        service.tick(sid, "C1D8", "amylase", "not_applicable", why="not needed (synthetic)")
    service.tick("101-003", "C1D1", "pregnancy_test", date=d("2025-03-02"))
    service.record_visit("101-001", "SCR", d("2025-02-20"))
    service.tick("101-001", "SCR", "hematology", date=d("2025-02-10"))  # 21 days before C1D1: to repeat
    service.tick("101-001", "SCR", "bone_marrow", date=d("2025-02-10"))  # within 28 days: done
    scr = service.checklist("101-001", "SCR").progress
    assert scr.done == 1 and scr.total > 10
    male = service.checklist("101-001", "C1D8")
    assert {i.id: i.status for i in male.items}["pregnancy_test"] == "not_applicable"
    assert male.progress == Progress(done=3, total=11)  # 13 items; pregnancy test and amylase do not apply
    assert service.checklist("101-002", "C1D8").progress == Progress(done=3, total=12)
    assert service.checklist("101-003", "C1D1").progress == Progress(done=1, total=18)  # before the first dose

    def no_single_loads(*args):
        raise AssertionError("progress loads subjects together, not one at a time")
    service.store.load_subject = no_single_loads
    pairs = [("101-001", "C1D8"), ("101-002", "C1D8"), ("101-001", "C1D8"), ("101-003", "C1D1"),
             ("999-999", "C1D8"), ("101-001", "C9D9"), ("101-001", "EOT"), ("101-003", "C1D8"), ("101-001", "SCR")]
    assert service.progress(pairs) == {("101-001", "C1D8"): Progress(3, 11), ("101-002", "C1D8"): Progress(3, 12),
                                       ("101-003", "C1D1"): Progress(1, 18), ("101-001", "SCR"): scr}
    assert service.progress([]) == {}


def test_initials_by_id(service):
    service.add_subject(make_subject("101-001"))
    from dataclasses import replace
    service.add_subject(replace(make_subject("101-002"), initials="XY"))
    assert service.initials() == {"101-001": "ABC", "101-002": "XY"}


def test_a_tick_can_be_taken_back_with_a_reason(enrolled):
    enrolled.tick("101-001", "C1D8", "hematology")
    with pytest.raises(InputError, match="needs a reason"):
        enrolled.clear_tick("101-001", "C1D8", "hematology")
    assert ("C1D8", "hematology") in enrolled.subject("101-001").procedures
    enrolled.clear_tick("101-001", "C1D8", "hematology", reason="ticked the wrong line")
    item = next(i for i in enrolled.checklist("101-001", "C1D8").items if i.id == "hematology")
    assert item.status == "pending"
    row = enrolled.audit("101-001")[-1]
    assert (row.action, row.new, row.reason) == ("clear_tick", None, "ticked the wrong line")
    with pytest.raises(InputError, match="no tick"):
        enrolled.clear_tick("101-001", "C1D8", "hematology", reason="again")


def test_registry_shows_cycle_and_day_only_on_treatment_and_the_planned_first_dose(service):
    service.add_subject(make_subject("101-001", c1d1=d("2025-03-03"), last_dose=d("2025-04-20"),
                                     end_of_treatment_reason="toxicity"))
    service.add_subject(make_subject("101-002", consent="2026-01-05", planned_c1d1=d("2026-01-19")))
    service.add_subject(make_subject("101-003", c1d1=d("2026-01-05")))
    rows = {s.id: s for s in service.subjects(TODAY)}
    assert rows["101-001"].status == "follow_up" and rows["101-001"].cycle_day is None
    assert rows["101-002"].next_visit.code == "SCR"  # screening first, then the first dose
    assert rows["101-003"].cycle_day == (1, 11)
    service.record_visit("101-002", "SCR", d("2026-01-12"))
    first = {s.id: s for s in service.subjects(TODAY)}["101-002"].next_visit
    assert (first.code, first.target) == ("C1D1", d("2026-01-19"))


def test_no_steroid_is_recorded_apart_from_not_chosen(enrolled):
    from coordinator.model import NO_STEROID
    enrolled.set_steroid("101-001", NO_STEROID, 0, [])
    assert enrolled.subject("101-001").steroid.given is False
    with pytest.raises(InputError, match="takes no dose"):
        enrolled.set_steroid("101-001", NO_STEROID, 20, [1], reason="typo")
    with pytest.raises(InputError, match="or 'none'"):
        enrolled.set_steroid("101-001", "cortisone", 20, [1], reason="typo")


def test_a_form_whose_audit_row_cannot_be_saved_is_not_left_behind(enrolled, tmp_path, monkeypatch):
    """The file takes its name inside the row's transaction: a commit that fails after the rename
    (a full disk) takes the file away again, so no form is out without its row."""
    import contextlib

    from coordinator.errors import StoreError
    write = enrolled.store.write

    @contextlib.contextmanager
    def failing_commit(user, action):
        with write(user, action) as tx:
            yield tx
            raise StoreError("The disk holding the database is full. Nothing was saved.")
    monkeypatch.setattr(enrolled.store, "write", failing_commit)
    rows = len(enrolled.audit())
    target = tmp_path / "form.pdf"
    with pytest.raises(StoreError, match="is full"):
        enrolled.save_form(target, b"%PDF-1.4 a form", "requisition 101-001 C1D8", "101-001")
    assert not target.exists() and not (tmp_path / "form.pdf.part").exists()
    assert len(enrolled.audit()) == rows


def test_a_form_that_finds_the_disk_full_says_so_in_the_words_of_every_full_disk(enrolled, tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(CoordinatorError, match=f"^The disk holding {tmp_path} is full. Nothing was saved. Free some "
                                               "space, or choose another disk, and try again.$"):
        enrolled.save_form(tmp_path / "form.pdf", b"%PDF-1.4 a form", "requisition 101-001 C1D8", "101-001")


@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_a_form_or_an_export_never_overwrites_the_database(enrolled, db_path, suffix):
    """The database and its working files are refused as the file to write, however the call
    reaches the service (the GUI's save dialogs, the command line): nothing is written."""
    target = Path(f"{db_path}{suffix}")
    assert target.exists()
    rows = enrolled.store.audit_rows()
    with pytest.raises(CoordinatorError, match="is the study's database .* Nothing was saved"):
        enrolled.save_form(target, b"%PDF-1.4 a form", "requisition C1D1", "101-001")
    with pytest.raises(CoordinatorError, match="is the study's database .* Nothing was exported"):
        enrolled.export_file(target)
    with pytest.raises(CoordinatorError, match="is the study's database .* Nothing was exported"):
        enrolled.save_audit_csv(db_path.parent / "x" / ".." / target.name, b"seq,at\n", 0)  # another spelling
    assert enrolled.store.audit_rows() == rows
    assert not Path(f"{target}.part").exists()
    enrolled.close()
    again = Service.open(db_path, today=TODAY)
    assert again.subject("101-001").c1d1 == d("2025-03-03") and again.verify_audit().ok
    again.close()


def test_a_form_is_not_written_into_a_folder(enrolled, tmp_path):
    with pytest.raises(CoordinatorError, match="is a folder, not a file name.* Nothing was saved"):
        enrolled.save_form(tmp_path, b"%PDF-1.4 a form", "requisition C1D1", "101-001")
    with pytest.raises(CoordinatorError, match="is a folder, not a file name.* Nothing was exported"):
        enrolled.export_file("")
