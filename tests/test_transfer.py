"""Import and export: all or nothing, every field checked, and a lossless round trip."""

import json

import pytest
from helpers import TODAY

from coordinator import transfer
from coordinator.errors import InputError
from coordinator.service import Service

EXAMPLE = {"format": "coordinator-subjects/1", "subjects": [{
    "id": "101-001", "initials": "ABC", "sex": "F", "birth_date": "1958-04-02",
    "childbearing_potential": True, "name": "Synthetic Person", "mrn": "SYN0001",
    "consent_date": "2025-02-10", "c1d1": "2025-03-03",
    "steroid": {"drug": "dexamethasone", "dose_mg": 40, "days": [1, 8, 15, 22]},
    "dose_changes": [{"drug": "selinexor", "level": -1, "from_cycle": 3}],
    "visits": [{"visit": "SCR", "date": "2025-02-20"}, {"visit": "C1D8", "date": "2025-03-10"},
               {"visit": "C1D15", "missed": True, "reason": "unwell"}],
    "procedures": [{"visit": "SCR", "procedure": "hematology", "status": "done"},
                   {"visit": "C1D8", "procedure": "chemistry", "status": "not_done", "reason": "clotted"}],
    "last_dose": "2025-06-01", "end_of_treatment_reason": "progression",
    "events": [{"type": "progression", "date": "2025-05-28"}]},
    {"id": "101-002", "initials": "DE", "sex": "M", "birth_date": "1950-01-01", "consent_date": "2025-02-11",
     "screen_failure": {"date": "2025-02-20", "reason": "creatinine clearance too low"}},
    {"id": "101-003", "initials": "FGH", "sex": "F", "birth_date": "1949-12-31", "consent_date": "2025-03-01",
     "planned_c1d1": "2025-03-24"}]}


def write(tmp_path, doc, name="in.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_import_then_export_round_trips(service, tmp_path):
    service.import_file(write(tmp_path, EXAMPLE))
    out = tmp_path / "out.json"
    service.export_file(out)
    exported = json.loads(out.read_text())
    assert exported["format"] == "coordinator-subjects/1"
    assert [s["id"] for s in exported["subjects"]] == ["101-001", "101-002", "101-003"]
    lines = out.read_text(encoding="utf-8").splitlines()  # one subject a line (written in seconds, not minutes)
    assert [line.strip()[:16] for line in lines if '"id": ' in line] == ['{"id": "101-001"', '{"id": "101-002"', '{"id": "101-003"']
    # into a fresh database: the same facts, plan and statuses
    other = Service.create(tmp_path / "other.db", user="tester", today=TODAY)
    other.import_file(out)
    for sid in ("101-001", "101-002", "101-003"):
        assert other.subject(sid) == service.subject(sid)
        assert other.timeline(sid).as_json() == service.timeline(sid).as_json()
    again = tmp_path / "again.json"
    other.export_file(again)
    assert json.loads(again.read_text()) == exported
    assert other.subject("101-003").planned_c1d1.isoformat() == exported["subjects"][2]["planned_c1d1"] == "2025-03-24"
    assert "planned_c1d1" not in exported["subjects"][0]  # omitted when there is none


def test_dose_changes_in_any_order_are_saved_as_imported(service, tmp_path):
    """A file may list them in any order: the subject saved is the subject read (hypothesis found
    changes from cycles 935 and 94 coming back in the other order)."""
    changes = [{"drug": "selinexor", "level": 0, "from_cycle": 9}, {"drug": "lenalidomide", "level": -1, "from_cycle": 3},
               {"drug": "selinexor", "level": -1, "from_cycle": 3}]
    doc = {"format": "coordinator-subjects/1", "subjects": [{**EXAMPLE["subjects"][0], "dose_changes": changes}]}
    imported = transfer.subject_from_json(doc["subjects"][0])
    service.import_file(write(tmp_path, doc))
    assert service.subject("101-001") == imported
    assert [(c.from_cycle, c.drug) for c in imported.dose_changes] == [(3, "lenalidomide"), (3, "selinexor"),
                                                                      (9, "selinexor")]


def test_import_is_audited(service, tmp_path):
    service.import_file(write(tmp_path, EXAMPLE))
    rows = service.audit()
    assert [r.subject_id for r in rows if r.action == "import"] == ["101-001", "101-002", "101-003", None]


def broken(**changes):
    doc = json.loads(json.dumps(EXAMPLE))
    subject = doc["subjects"][0]
    for key, value in changes.items():
        if value is None:
            subject.pop(key, None)
        else:
            subject[key] = value
    return doc


@pytest.mark.parametrize("doc, subject, field, words", [
    (broken(c1d1="2025-02-30"), "101-001", "c1d1", "not a real calendar date"),
    (broken(birth_date="02/04/1958"), "101-001", "birth_date", "YYYY-MM-DD"),
    (broken(planned_c1d1="2025-02-30"), "101-001", "planned_c1d1", "not a real calendar date"),
    (broken(planned_c1d1=20250303), "101-001", "planned_c1d1", "is not a date"),
    (broken(planned_c1d1="2025-02-09"), "101-001", "planned_c1d1", "must be after the consent date 2025-02-10"),
    (broken(initials=None), "101-001", "initials", "is required"),
    (broken(sex="X"), "101-001", "sex", "must be F or M"),
    (broken(visits=[{"visit": "C2D8", "date": "2025-04-07"}]), "101-001", "visits.C2D8", "not a visit of this protocol"),
    (broken(visits=[{"visit": "C1D8"}]), "101-001", "visits.C1D8", "needs a date"),
    (broken(events=[{"type": "relapse", "date": "2025-05-01"}]), "101-001", "events", "must be one of"),
    (broken(procedures=[{"visit": "SCR", "procedure": "xray", "status": "done"}]), "101-001", "procedures.SCR.xray", "not a procedure"),
    (broken(favourite_colour="blue"), "101-001", "favourite_colour", "unknown field"),
    (broken(last_dose="2025-02-01"), "101-001", "last_dose", "before cycle 1 day 1"),
    (broken(visits=[{"visit": "C3D1", "date": "2025-04-20"}, {"visit": "C2D1", "date": "2025-04-28"}]),
     "101-001", "visits.C3D1", "cannot start"),
    (broken(visits=[{"visit": "C3D1", "date": "2025-03-31"}]), "101-001", "visits.C3D1", "not after cycle 2 day 1 (2025-03-31)"),
    (broken(visits=[{"visit": "C22D1", "date": "2025-04-21"}]), "101-001", "visits.C22D1", "cannot have been reached"),
    (broken(visits=[{"visit": "C99999D1", "date": "2025-04-21"}]), "101-001", "visits.C99999D1", "not a visit of this protocol"),
    (broken(visits=[{"visit": "UNS99999999999999", "date": "2025-04-21"}]), "101-001", "visits.UNS99999999999999", "not a visit"),
    (broken(visits=[{"visit": "C30D1", "missed": True, "reason": "x"}]), "101-001", "visits.C30D1", "not in the schedule yet"),
    (broken(procedures=[{"visit": "C30D22", "procedure": "spep", "status": "done"}]), "101-001", "procedures.C30D22.spep",
     "not in this subject's schedule"),
    (broken(c1d1="2025-06-10", last_dose=None, end_of_treatment_reason=None, visits=[], procedures=[],
            events=[{"type": "death", "date": "2025-06-01"}]), "101-001", "c1d1", "after the subject left the study"),
    (broken(steroid={"drug": "dexamethasone", "dose_mg": float("nan"), "days": [1]}), "101-001", "steroid.dose_mg", "positive dose"),
    (broken(visits=[{"visit": "C2D22", "date": "2025-03-25"}]), "101-001", "visits.C2D22", "not after cycle 2 day 1"),

])
def test_bad_import_names_subject_and_field_and_writes_nothing(service, tmp_path, doc, subject, field, words):
    with pytest.raises(InputError) as info:
        service.import_file(write(tmp_path, doc))
    assert (info.value.subject, info.value.field) == (subject, field)
    assert words in info.value.problem
    assert service.store.subject_ids() == []


def test_duplicate_ids_in_file_or_database(service, tmp_path):
    doc = json.loads(json.dumps(EXAMPLE))
    doc["subjects"].append(dict(doc["subjects"][2]))
    with pytest.raises(InputError, match="101-003: id: appears twice in the file"):
        service.import_file(write(tmp_path, doc))
    service.import_file(write(tmp_path, EXAMPLE))
    with pytest.raises(InputError, match="101-001: id: a subject with this id already exists"):
        service.import_file(write(tmp_path, EXAMPLE))


def test_cap_counts_database_and_file_together(service, tmp_path):
    def started(i):
        return {"id": f"101-{i:03d}", "initials": "AB", "sex": "M", "birth_date": "1950-01-01",
                "consent_date": "2025-02-10", "c1d1": "2025-03-03"}
    service.import_file(write(tmp_path, {"format": "coordinator-subjects/1", "subjects": [started(i) for i in range(1, 21)]}))
    doc = {"format": "coordinator-subjects/1", "subjects": [started(i) for i in range(21, 24)]}
    with pytest.raises(InputError, match="101-023: c1d1: enrollment is full: 22 of 22"):
        service.import_file(write(tmp_path, doc))
    assert len(service.store.subject_ids()) == 20  # nothing of the failed file was written


def test_not_json_and_wrong_format(service, tmp_path):
    with pytest.raises(InputError, match="is not valid JSON"):
        service.import_file(write(tmp_path, "{not json"))
    with pytest.raises(InputError, match='format: must be "coordinator-subjects/1"'):
        service.import_file(write(tmp_path, {"format": "csv", "subjects": []}))
    with pytest.raises(InputError, match="no such file"):
        service.import_file(tmp_path / "missing.json")
