"""Invalid input, through an import file and through the service, gets a clear message and stores nothing.

Each property feeds one kind of invalid value (a date that is not a date, or one in the wrong place
in time; a bad subject id; a field of the wrong type, unknown, or with a value the protocol does
not allow) and checks that a ``CoordinatorError`` is raised (never a bare KeyError, TypeError or
ValueError) whose message names the field or the subject, and that the subjects, the plan cache
and the audit trail are as they were (a snapshot taken inside the test body). Each example has a
database of its own, a copy of one made once per module, so that a failure replays.

The tests at the end are problems these properties found in the core (each fixed since).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import TODAY, d, make_subject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator import transfer
from coordinator.dates import parse_iso
from coordinator.errors import CoordinatorError
from coordinator.model import PROCEDURE_STATUSES
from coordinator.protocol import load
from coordinator.service import Service
from coordinator.validation import INITIALS, SUBJECT_ID

P = load()
CONSENT = d("2025-02-10")  # every generated subject's, and the stored subjects'
C1D1 = d("2025-03-03")  # of the generated subjects that have one, and of 101-002
DAY = dt.timedelta(days=1)
EARLIEST = dt.date.min  # the whole calendar (see test_dates_at_the_start_of_the_calendar_...)
SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MORE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NUMBERS = itertools.count(1)
EDIT_PARAMETERS = {"self", "subject_id", "reason"}  # edit_subject's own parameter names
EDITABLE = {"initials", "sex", "birth_date", "consent_date", "childbearing_potential", "name", "mrn", "planned_c1d1"}


# -- the databases, snapshots, refusals -------------------------------------------------------------
# Each example opens a database of its own (``fresh``): a pytest fixture serves all of a test's
# examples, and in a shared database what one example saved would change the next one, so that a
# failure would not replay ("Flaky"). The fixtures make each database once; an example opens a copy
# of it (about 3 ms, against 11 ms to make it again).
@contextlib.contextmanager
def fresh(database: Path) -> Iterator[tuple[Service, Path]]:
    """A copy of ``database``, open, alone in a new folder (where the test writes its import files)."""
    with tempfile.TemporaryDirectory(prefix="coordinator-example-") as name:
        folder = Path(name)
        shutil.copyfile(database, folder / "study.db")
        service = Service.open(folder / "study.db", user="tester", today=TODAY)
        try:
            yield service, folder
        finally:
            service.close()


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    """A database with two subjects, for ``fresh``."""
    path = tmp_path_factory.mktemp("input") / "study.db"
    service = Service.create(path, user="tester", today=TODAY)
    try:
        service.add_subject(make_subject("101-001"))  # female, screening
        service.add_subject(make_subject("101-002", sex="M", c1d1=C1D1))  # male, on treatment
        service.record_visit("101-002", "C1D8", d("2025-03-10"))
        service.tick("101-002", "C1D8", "hematology")
    finally:
        service.close()
    return path


def snapshot(service) -> tuple:
    conn = service.store.conn
    return (service.export_document(), conn.execute("SELECT * FROM plan ORDER BY subject_id, seq").fetchall(),
            conn.execute("SELECT count(*), max(seq) FROM audit").fetchone())


def refused(service, call, *needles: str) -> str:
    """``call()`` raises a CoordinatorError naming one of ``needles`` and changes nothing."""
    before = snapshot(service)
    with pytest.raises(CoordinatorError) as info:
        call()
    message = str(info.value)
    assert any(needle in message for needle in needles), f"{message!r} names none of {needles}"
    assert snapshot(service) == before
    return message


def new_subject(**changes) -> dict:
    """A valid subject object of the import format, changed."""
    subject = {"id": f"P-{next(NUMBERS):05d}", "initials": "ABC", "sex": "F", "birth_date": "1958-04-02",
               "consent_date": CONSENT.isoformat(), "childbearing_potential": True}
    subject.update(changes)
    return subject


def import_document(service, folder, document) -> None:
    path = folder / "import.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    service.import_file(path)


def import_subjects(service, folder, subjects: list[dict]) -> None:
    import_document(service, folder, {"format": transfer.FORMAT, "subjects": subjects})


# -- strategies --------------------------------------------------------------------------------------
def not_a_date(value) -> bool:
    try:
        parse_iso(value)
    except ValueError:
        return True
    return False


def case(needle: str, values, make) -> st.SearchStrategy:
    """(the field the message must name, the changes that make a subject invalid)."""
    return values.map(lambda value: (needle, make(value)))


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                 st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                           max_leaves=8)
not_text = json_values.filter(lambda v: v is not None and not isinstance(v, str))
not_bool = json_values.filter(lambda v: v is not None and not isinstance(v, bool))
not_list = json_values.filter(lambda v: v is not None and not isinstance(v, list))
blank_or_long = st.one_of(st.text(" \t\r\n", min_size=0, max_size=4), st.text(min_size=201, max_size=260))
bad_dates = st.one_of(
    st.sampled_from(["", "2025-02-30", "2023-02-29", "2025-13-01", "2025-00-10", "2025-04-31", "2025-1-1", "25-01-01",
                     "2025/01/01", "01-02-2025", "2025-01-01T00:00", " 2025-01-01", "2025-01-01 ", "20250101", "today",
                     "２０２５-01-01", "2025-01-0１"]),
    st.builds("{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99)),
    st.text(max_size=16),
    not_text,
).filter(not_a_date)
before_consent = st.dates(EARLIEST, CONSENT - DAY)
future = st.dates(TODAY + DAY, dt.date.max)
past_or_future = st.one_of(before_consent, future)


def iso(day: dt.date) -> str:
    return day.isoformat()


DATE_PLACES = {  # where a date goes in a subject object, named as the message names it
    "birth_date": lambda v: {"birth_date": v},
    "consent_date": lambda v: {"consent_date": v},
    "planned_c1d1": lambda v: {"planned_c1d1": v},
    "c1d1": lambda v: {"c1d1": v},
    "last_dose": lambda v: {"c1d1": iso(C1D1), "last_dose": v, "end_of_treatment_reason": "toxicity"},
    "visits.SCR": lambda v: {"visits": [{"visit": "SCR", "date": v}]},
    "visits.UNS1": lambda v: {"visits": [{"visit": "UNS1", "date": v}]},
    "procedures.SCR.hematology": lambda v: {"procedures": [{"visit": "SCR", "procedure": "hematology", "status": "done",
                                                            "date": v}]},
    "events.progression": lambda v: {"events": [{"type": "progression", "date": v}]},
    "screen_failure.date": lambda v: {"screen_failure": {"date": v, "reason": "not eligible"}},
}

# Dates that are real dates but not allowed where they are: each is also a valid import format,
# so the same cases go through Service.add_subject as Subject objects.
misplaced_dates = st.one_of(
    case("consent_date", future, lambda day: {"consent_date": iso(day)}),
    case("birth_date", st.dates(CONSENT, dt.date.max), lambda day: {"birth_date": iso(day)}),
    case("birth_date", st.dates(EARLIEST, CONSENT - 120 * 366 * DAY - DAY), lambda day: {"birth_date": iso(day)}),
    case("c1d1", st.one_of(st.dates(EARLIEST, CONSENT), future), lambda day: {"c1d1": iso(day)}),
    case("planned_c1d1", st.dates(EARLIEST, CONSENT), lambda day: {"planned_c1d1": iso(day)}),
    *[case(place, past_or_future, lambda day, place=place: DATE_PLACES[place](iso(day)))
      for place in ("visits.SCR", "visits.UNS1", "procedures.SCR.hematology", "events.progression", "screen_failure.date")],
    case("last_dose", st.one_of(st.dates(EARLIEST, C1D1 - DAY), future), lambda day: DATE_PLACES["last_dose"](iso(day))),
    case("last_dose", st.dates(CONSENT, TODAY), lambda day: {"last_dose": iso(day), "end_of_treatment_reason": "toxicity"}),
    case("visits.C1D8", st.one_of(st.dates(CONSENT, C1D1), future),
         lambda day: {"c1d1": iso(C1D1), "visits": [{"visit": "C1D8", "date": iso(day)}]}),
    case("visits.C1D8", st.dates(CONSENT, TODAY), lambda day: {"visits": [{"visit": "C1D8", "date": iso(day)}]}),
    case("visits.SCR", st.dates(C1D1, TODAY), lambda day: {"c1d1": iso(C1D1), "visits": [{"visit": "SCR", "date": iso(day)}]}),
    case("visits.EOT", st.dates(CONSENT, TODAY), lambda day: {"c1d1": iso(C1D1), "visits": [{"visit": "EOT", "date": iso(day)}]}),
    case("visits.C2D1", st.dates(CONSENT, C1D1),
         lambda day: {"c1d1": iso(C1D1), "visits": [{"visit": "C2D1", "date": iso(day)}]}),
    case("visits.C1D22", st.dates(C1D1, d("2025-03-20")),  # a visit after the study ended (death)
         lambda day: {"c1d1": iso(C1D1), "events": [{"type": "death", "date": iso(day)}],
                      "visits": [{"visit": "C1D22", "date": "2025-03-24"}]}),
)

bad_id_text = st.one_of(
    st.text(" \t\r\n\x0b\x0c\u00a0\u2003", min_size=1, max_size=5),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{40,60}", fullmatch=True),
    st.builds(lambda a, c, b: a + c + b, st.from_regex(r"[A-Za-z0-9]{1,5}", fullmatch=True),
              st.characters(whitelist_categories=("Cc",)), st.from_regex(r"[A-Za-z0-9._-]{0,5}", fullmatch=True)),
    st.text(max_size=12).filter(lambda s: s != "" and not SUBJECT_ID.fullmatch(s)),
)
unknown_visits = st.text(max_size=8).filter(lambda code: P.parse_visit(code) is None)
unknown_procedures = st.text(max_size=12).filter(lambda p: p not in P.procedures)
unknown_statuses = st.text(max_size=12).filter(lambda s: s not in PROCEDURE_STATUSES)
bad_initials = st.text(max_size=8).filter(lambda s: s != "" and not INITIALS.fullmatch(s))
bad_sexes = st.text(max_size=4).filter(lambda s: s not in ("", "F", "M"))

# Values of the right JSON type that the protocol or the rules refuse (also valid Subject objects).
semantic_fields = st.one_of(
    case("id", bad_id_text, lambda v: {"id": v}),
    case("initials", bad_initials, lambda v: {"initials": v}),
    case("sex", bad_sexes, lambda v: {"sex": v}),
    case("childbearing_potential", st.just(True), lambda v: {"sex": "M", "childbearing_potential": v}),
    case("name", blank_or_long.filter(bool), lambda v: {"name": v}),
    case("mrn", blank_or_long.filter(bool), lambda v: {"mrn": v}),
    case("visits.", unknown_visits, lambda v: {"visits": [{"visit": v, "date": "2025-02-12"}]}),
    case("visits.SCR", st.just(None), lambda v: {"visits": [{"visit": "SCR", "date": "2025-02-12", "missed": True,
                                                              "reason": "x"}]}),
    case("visits.SCR", st.sampled_from(["", "  "]), lambda v: {"visits": [{"visit": "SCR", "missed": True, "reason": v}]}),
    case("visits.UNS1", st.just(None), lambda v: {"visits": [{"visit": "UNS1", "missed": True, "reason": "x"}]}),
    case("procedures.SCR.", unknown_procedures,
         lambda v: {"procedures": [{"visit": "SCR", "procedure": v, "status": "done"}]}),
    case("procedures.SCR.hematology", unknown_statuses,
         lambda v: {"procedures": [{"visit": "SCR", "procedure": "hematology", "status": v}]}),
    case("procedures.SCR.", st.sampled_from(["first_dose", "dispense", "adverse_events", "survival_status"]),
         lambda v: {"procedures": [{"visit": "SCR", "procedure": v, "status": "done"}]}),
    case("procedures.SCR.hematology", st.sampled_from(["", " "]),
         lambda v: {"procedures": [{"visit": "SCR", "procedure": "hematology", "status": "not_done", "reason": v}]}),
    case("procedures.SCR.spep", st.just("requested"),
         lambda v: {"procedures": [{"visit": "SCR", "procedure": "spep", "status": v}]}),
    case("procedures.C1D8.", st.just("hematology"),
         lambda v: {"procedures": [{"visit": "C1D8", "procedure": v, "status": "done"}]}),
    case("steroid.dose_mg", st.one_of(st.floats(max_value=0), st.floats(min_value=1000, exclude_min=True), st.just(float("nan"))),
         lambda v: {"steroid": {"drug": "dexamethasone", "dose_mg": v, "days": [1, 8]}}),
    case("steroid.days", st.one_of(st.lists(st.integers(), max_size=4).filter(lambda ds: not ds or any(x < 1 or x > 28 for x in ds)),
                                   st.integers(1, 28).map(lambda x: [x, x])),
         lambda v: {"steroid": {"drug": "dexamethasone", "dose_mg": 20, "days": v}}),
    case("steroid.drug", st.text(max_size=12).filter(lambda s: s not in P.steroids and s != "none"),
         lambda v: {"steroid": {"drug": v, "dose_mg": 20, "days": [1]}}),
    case("steroid.dose_mg", st.floats(min_value=0.1, max_value=100), lambda v: {"steroid": {"drug": "none", "dose_mg": v, "days": []}}),
    case("dose_changes.drug", st.text(max_size=12).filter(lambda s: s not in ("selinexor", "lenalidomide")),
         lambda v: {"dose_changes": [{"drug": v, "level": -1, "from_cycle": 2}]}),
    case("dose_changes.level", st.integers().filter(lambda x: x not in (0, -1, -2)),
         lambda v: {"dose_changes": [{"drug": "selinexor", "level": v, "from_cycle": 2}]}),
    case("dose_changes.from_cycle", st.integers(max_value=0),
         lambda v: {"dose_changes": [{"drug": "selinexor", "level": -1, "from_cycle": v}]}),
    case("dose_changes", st.integers(1, 999),
         lambda v: {"dose_changes": [{"drug": "selinexor", "level": -1, "from_cycle": v}] * 2}),
    case("events", st.text(max_size=12).filter(lambda s: s not in P.events),
         lambda v: {"events": [{"type": v, "date": "2025-03-01"}]}),
    case("screen_failure.reason", st.sampled_from(["", " ", "\t"]),
         lambda v: {"screen_failure": {"date": "2025-02-20", "reason": v}}),
    case("c1d1", st.just(None), lambda v: {"screen_failure": {"date": "2025-02-20", "reason": "x"}, "c1d1": iso(C1D1)}),
    case("end_of_treatment_reason", st.text(max_size=12).filter(lambda s: s not in P.end_of_treatment.reasons),
         lambda v: {"c1d1": iso(C1D1), "last_dose": "2025-04-01", "end_of_treatment_reason": v}),
    case("end_of_treatment_reason", st.sampled_from(P.end_of_treatment.reasons),
         lambda v: {"end_of_treatment_reason": v}),
)

# Values of the wrong JSON type, unknown keys, missing required fields: only an import can hold these.
format_fields = st.one_of(
    case("id", not_text, lambda v: {"id": v}),
    *[case(key, not_text, lambda v, key=key: {key: v}) for key in ("initials", "sex", "name", "mrn")],
    *[case(key, st.sampled_from([None, ""]), lambda v, key=key: {key: v}) for key in transfer.REQUIRED],
    case("childbearing_potential", not_bool, lambda v: {"childbearing_potential": v}),
    st.tuples(st.text(min_size=1, max_size=12).filter(lambda k: k not in transfer.FIELDS), json_values).map(
        lambda kv: (kv[0], {kv[0]: kv[1]})),
    *[case(key, not_list, lambda v, key=key: {key: v}) for key in ("visits", "procedures", "events", "dose_changes")],
    *[case(f"{key}[1]", not_text.filter(lambda v: not isinstance(v, dict)), lambda v, key=key: {key: [v]})
      for key in ("visits", "procedures", "events", "dose_changes")],
    case("visits[1].", st.text(min_size=1, max_size=8).filter(lambda k: k not in transfer.VISIT_FIELDS),
         lambda k: {"visits": [{"visit": "SCR", "date": "2025-02-12", k: 1}]}),
    case("visits.SCR.missed", not_bool, lambda v: {"visits": [{"visit": "SCR", "missed": v, "reason": "x"}]}),
    case("visits", not_text, lambda v: {"visits": [{"visit": v, "date": "2025-02-12"}]}),
    case("visits.SCR", st.just(None), lambda v: {"visits": [{"visit": "SCR", "date": "2025-02-12"}] * 2}),
    case("procedures", not_text, lambda v: {"procedures": [{"visit": "SCR", "procedure": "hematology", "status": v}]}),
    case("procedures", not_text, lambda v: {"procedures": [{"visit": "SCR", "procedure": v, "status": "done"}]}),
    case("procedures[1].", st.text(min_size=1, max_size=8).filter(lambda k: k not in transfer.PROCEDURE_FIELDS),
         lambda k: {"procedures": [{"visit": "SCR", "procedure": "hematology", "status": "done", k: 1}]}),
    case("procedures.SCR.hematology", st.just(None),
         lambda v: {"procedures": [{"visit": "SCR", "procedure": "hematology", "status": "done"}] * 2}),
    case("steroid", not_text.filter(lambda v: not isinstance(v, dict)), lambda v: {"steroid": v}),
    case("steroid.dose_mg", st.one_of(st.booleans(), st.text(max_size=4), st.lists(st.integers(), max_size=2)),
         lambda v: {"steroid": {"drug": "dexamethasone", "dose_mg": v, "days": [1]}}),
    case("steroid.days", st.one_of(not_list, st.lists(st.one_of(st.booleans(), st.floats(), st.text(max_size=2)), min_size=1,
                                                      max_size=3)),
         lambda v: {"steroid": {"drug": "dexamethasone", "dose_mg": 20, "days": v}}),
    case("dose_changes[1].", st.sampled_from(["level", "from_cycle"]).flatmap(
        lambda key: st.tuples(st.just(key), st.one_of(st.booleans(), st.floats(), st.text(max_size=3), st.none()))),
         lambda kv: {"dose_changes": [{"drug": "selinexor", "level": -1, "from_cycle": 2, kv[0]: kv[1]}]}),
    case("events.progression", st.just(None), lambda v: {"events": [{"type": "progression", "date": "2025-03-01"}] * 2}),
    case("screen_failure", not_text.filter(lambda v: not isinstance(v, dict)), lambda v: {"screen_failure": v}),
    case("screen_failure.reason", st.one_of(st.none(), not_text), lambda v: {"screen_failure": {"date": "2025-02-20", "reason": v}}),
)


# -- import ------------------------------------------------------------------------------------------
@MORE
@given(place=st.sampled_from(sorted(DATE_PLACES)), value=bad_dates)
def test_an_import_with_something_that_is_not_a_date_is_refused(study, place, value):
    with fresh(study) as (service, folder):
        refused(service, lambda: import_subjects(service, folder, [new_subject(**DATE_PLACES[place](value))]), place)


@MORE
@given(bad=misplaced_dates)
def test_an_import_with_a_date_out_of_its_place_in_time_is_refused(study, bad):
    with fresh(study) as (service, folder):
        field_name, changes = bad
        refused(service, lambda: import_subjects(service, folder, [new_subject(**changes)]), field_name)


@MORE
@given(bad=st.one_of(semantic_fields, format_fields))
def test_an_import_with_a_bad_field_is_refused(study, bad):
    with fresh(study) as (service, folder):
        field_name, changes = bad
        subject = new_subject(**changes)
        refused(service, lambda: import_subjects(service, folder, [subject]), field_name)


@SOME
@given(good=st.integers(1, 6), at=st.integers(0, 6),
       bad=st.one_of(misplaced_dates, semantic_fields, format_fields, st.just(("101-001", {"id": "101-001"}))))
def test_an_import_is_all_or_nothing(study, good, at, bad):
    """Valid subjects before and after an invalid one: none is saved (101-001 is already stored)."""
    with fresh(study) as (service, folder):
        field_name, changes = bad
        subjects = [new_subject() for _ in range(good)]
        subjects.insert(min(at, good), new_subject(**changes))
        refused(service, lambda: import_subjects(service, folder, subjects), field_name)


@SOME
@given(sid=st.one_of(bad_id_text, st.sampled_from(["P-00001", "a", "Z.9_x-1"])), twice=st.booleans())
def test_an_id_twice_in_a_file_or_already_stored_is_refused(study, sid, twice):
    with fresh(study) as (service, folder):
        if twice:
            subjects = [new_subject(id=sid), new_subject(id=sid)]
            refused(service, lambda: import_subjects(service, folder, subjects), "id")
        else:
            refused(service, lambda: import_subjects(service, folder, [new_subject(), new_subject(id="101-002")]),
                    "101-002: id: a subject with this id already exists")


@SOME
@given(document=st.one_of(
    case("file", not_text.filter(lambda v: not isinstance(v, dict)), lambda v: v),
    case("format", json_values.filter(lambda v: v != transfer.FORMAT), lambda v: {"format": v, "subjects": []}),
    case("format", st.just(None), lambda v: {"subjects": []}),
    st.text(min_size=1, max_size=10).filter(lambda k: k not in ("format", "subjects", "study")).map(
        lambda k: (k, {"format": transfer.FORMAT, "subjects": [], k: 1})),
    case("subjects", not_list, lambda v: {"format": transfer.FORMAT, "subjects": v}),
    case("subject #1", not_text.filter(lambda v: not isinstance(v, dict)), lambda v: {"format": transfer.FORMAT, "subjects": [v]}),
))
def test_an_import_file_of_the_wrong_shape_is_refused(study, document):
    with fresh(study) as (service, folder):
        field_name, value = document
        refused(service, lambda: import_document(service, folder, value), field_name)


def test_an_import_file_that_is_not_json_or_not_there_is_refused(study):
    with fresh(study) as (service, folder):
        (folder / "bad.json").write_text('{"format": "coordinator-subjects/1", "subjects": [}', encoding="utf-8")
        refused(service, lambda: service.import_file(folder / "bad.json"), "bad.json: is not valid JSON (line 1")
        (folder / "latin1.json").write_bytes(b'{"format": "caf\xe9"}')
        refused(service, lambda: service.import_file(folder / "latin1.json"), "latin1.json: cannot be read")
        refused(service, lambda: service.import_file(folder / "missing.json"), "missing.json: no such file")


@MORE
@given(value=json_values)
def test_any_json_document_is_read_or_refused_with_a_clear_message(value):
    """``subjects_from_document`` never fails with anything but an InputError, whatever the JSON."""
    from coordinator.errors import InputError

    for document in (value, {"format": transfer.FORMAT, "subjects": [value]},
                     {"format": transfer.FORMAT, "subjects": [value if not isinstance(value, dict) else new_subject(**value)]}):
        try:
            transfer.subjects_from_document(document)
        except InputError as exc:
            assert str(exc)


ints = st.integers()  # any size (see test_a_cycle_number_too_large_...)
small_json = st.recursive(st.one_of(st.none(), st.booleans(), ints, st.floats(), st.text(max_size=12)),
                          lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=6)
some_dates = st.one_of(st.dates(d("2024-06-01"), TODAY), st.dates(EARLIEST, dt.date.max)).map(iso)


def either(likely, *values) -> st.SearchStrategy:
    """Mostly ``likely`` (so that some subjects are valid and saved), else anything."""
    return st.integers(0, 9).flatmap(lambda n: st.one_of(*values, small_json) if n == 0 else likely)


any_subject = st.fixed_dictionaries({
    "id": st.from_regex(r"F[0-9a-z]{1,10}", fullmatch=True),
    "initials": either(st.sampled_from(["ABC", "X", "AB-C"]), st.text(max_size=5)),
    "sex": either(st.sampled_from("FM"), st.text(max_size=2)),
    "birth_date": either(st.dates(d("1930-01-01"), d("2000-01-01")).map(iso), st.dates(EARLIEST, TODAY).map(iso)),
    "consent_date": either(st.dates(d("2024-06-01"), d("2025-06-01")).map(iso), some_dates),
}, optional={
    "childbearing_potential": either(st.booleans()),
    "name": either(st.text(max_size=20)),
    "mrn": either(st.text(max_size=20)),
    "planned_c1d1": either(some_dates),
    "c1d1": either(some_dates),
    "last_dose": either(some_dates),
    "end_of_treatment_reason": either(st.sampled_from(P.end_of_treatment.reasons)),
    "screen_failure": either(st.fixed_dictionaries({"date": some_dates, "reason": st.text(max_size=8)})),
    "visits": either(st.lists(st.fixed_dictionaries(
        {"visit": either(st.sampled_from(["SCR", "C1D1", "C1D8", "C2D1", "UNS1", "EOT", "PDFU1"]))},
        optional={"date": either(some_dates), "missed": either(st.booleans()), "reason": either(st.text(max_size=4)),
                  "notes": either(st.text(max_size=8))}), max_size=3)),
    "procedures": either(st.lists(st.fixed_dictionaries(
        {"visit": either(st.sampled_from(["SCR", "C1D1", "C1D8", "UNS1"])),
         "procedure": either(st.sampled_from(["hematology", "spep", "pregnancy_test", "bone_marrow_cr", "dispense"])),
         "status": either(st.sampled_from(PROCEDURE_STATUSES))},
        optional={"date": either(some_dates), "reason": either(st.text(max_size=4))}), max_size=3)),
    "events": either(st.lists(st.fixed_dictionaries({"type": either(st.sampled_from(list(P.events))), "date": either(some_dates)}),
                              max_size=2)),
    "steroid": either(st.fixed_dictionaries({"drug": either(st.sampled_from([*P.steroids, "none"])),
                                             "dose_mg": either(st.floats(0, 100)), "days": either(st.lists(st.integers(0, 30), max_size=4))})),
    "dose_changes": either(st.lists(st.fixed_dictionaries({
        "drug": either(st.sampled_from(["selinexor", "lenalidomide"])), "level": either(st.integers(-3, 1)),
        "from_cycle": either(st.integers(-1, 1000))}), max_size=2)),
})


@pytest.fixture(scope="module")
def no_subjects(tmp_path_factory) -> Path:
    """A database with no subject yet, for ``fresh``."""
    path = tmp_path_factory.mktemp("fuzz") / "study.db"
    Service.create(path, user="tester", today=TODAY).close()
    return path


@MORE
@given(subject=any_subject)
def test_whatever_an_imported_subject_holds_it_is_saved_whole_or_refused_with_a_message(no_subjects, subject):
    with fresh(no_subjects) as (service, folder):
        before = snapshot(service)
        try:
            import_subjects(service, folder, [subject])
        except CoordinatorError as exc:
            assert str(exc)
            assert snapshot(service) == before
        else:
            expected = transfer.subject_to_json(transfer.subject_from_json(subject))
            assert transfer.subject_to_json(service.subject(subject["id"])) == expected
            assert service.verify_audit().ok


# -- the service ----------------------------------------------------------------------------------------
@MORE
@given(bad=st.one_of(misplaced_dates, semantic_fields))
def test_add_subject_refuses_an_invalid_subject(study, bad):
    with fresh(study) as (service, _):
        field_name, changes = bad
        subject = transfer.subject_from_json(new_subject(**changes))  # a well-formed Subject: the rules refuse it
        refused(service, lambda: service.add_subject(subject), field_name)


@MORE
@given(call=st.one_of(
    case("visit", unknown_visits, lambda code: ("101-002", code, d("2025-03-10"))),
    case("visits.SCR", past_or_future, lambda day: ("101-001", "SCR", day)),
    case("visits.UNS1", past_or_future, lambda day: ("101-001", "UNS1", day)),
    case("visits.C1D8", st.dates(CONSENT, TODAY), lambda day: ("101-001", "C1D8", day)),
    case("EOT", st.dates(CONSENT, TODAY), lambda day: ("101-001", "EOT", day)),
    case("PDFU1", st.dates(CONSENT, TODAY), lambda day: ("101-002", "PDFU1", day)),
    case("visits.C1D8", st.one_of(st.dates(EARLIEST, C1D1), future), lambda day: ("101-002", "C1D8", day)),
    case("visits.SCR", st.one_of(st.dates(C1D1, TODAY), future), lambda day: ("101-002", "SCR", day)),
    case("c1d1", st.one_of(st.dates(EARLIEST, CONSENT), future), lambda day: ("101-002", "C1D1", day)),
    case("visits.C2D1", st.dates(EARLIEST, C1D1), lambda day: ("101-002", "C2D1", day)),
    case("visits.C", st.integers(4, 999), lambda n: ("101-002", f"C{n}D1", d("2025-04-01"))),
    case("no such subject", st.text(max_size=10).filter(lambda s: s not in ("101-001", "101-002")),
         lambda sid: (sid, "SCR", d("2025-02-12"))),
))
def test_record_visit_refuses_a_bad_visit_or_date(study, call):
    with fresh(study) as (service, _):
        needle, (sid, visit, day) = call
        refused(service, lambda: service.record_visit(sid, visit, day, reason="typo"), needle)


@MORE
@given(call=st.one_of(
    case("procedures.SCR.", unknown_procedures, lambda p: ("101-001", "SCR", p, "done", None, "")),
    case("procedures.SCR.hematology", unknown_statuses, lambda s: ("101-001", "SCR", "hematology", s, None, "")),
    case("procedures.SCR.hematology", past_or_future, lambda day: ("101-001", "SCR", "hematology", "done", day, "")),
    case("procedures.SCR.hematology", st.sampled_from(["", " ", "\n"]),
         lambda why: ("101-001", "SCR", "hematology", "not_done", None, why)),
    case("procedures.SCR.hematology", st.just("requested"), lambda s: ("101-001", "SCR", "hematology", s, None, "")),
    case("procedures.C1D8.", st.sampled_from(["hematology", "adverse_events"]), lambda p: ("101-001", "C1D8", p, "done", None, "")),
    case("procedures.C1D8.urinalysis", st.just(None), lambda _: ("101-002", "C1D8", "urinalysis", "done", None, "")),
    case("procedures.EOT.", st.just("spep"), lambda p: ("101-002", "EOT", p, "done", None, "")),
    case("visit", unknown_visits, lambda code: ("101-002", code, "hematology", "done", None, "")),
))
def test_tick_refuses_an_unknown_procedure_status_or_visit(study, call):
    with fresh(study) as (service, _):
        needle, (sid, visit, procedure, status, day, why) = call
        refused(service, lambda: service.tick(sid, visit, procedure, status, day, why, reason="typo"), needle)


@MORE
@given(edit=st.one_of(
    st.tuples(st.text(min_size=1, max_size=15).filter(lambda k: k not in EDITABLE | EDIT_PARAMETERS), json_values).map(
        lambda kv: (kv[0], "101-001", {kv[0]: kv[1]})),
    case("sex", bad_sexes, lambda v: ("101-001", {"sex": v})),
    case("initials", bad_initials, lambda v: ("101-001", {"initials": v})),
    case("birth_date", st.dates(CONSENT, dt.date.max), lambda v: ("101-001", {"birth_date": v})),
    case("consent_date", future, lambda v: ("101-001", {"consent_date": v})),
    case("c1d1", st.dates(C1D1, TODAY), lambda v: ("101-002", {"consent_date": v})),
    case("childbearing_potential", st.just(True), lambda v: ("101-002", {"childbearing_potential": v})),
    case("name", blank_or_long.filter(bool), lambda v: ("101-001", {"name": v})),
    case("planned_c1d1", st.dates(EARLIEST, CONSENT), lambda v: ("101-001", {"planned_c1d1": v})),
).map(lambda c: (c[0], *c[1]) if len(c) == 2 else c))
def test_edit_subject_refuses_unknown_fields_and_bad_values(study, edit):
    with fresh(study) as (service, _):
        needle, sid, fields = edit
        refused(service, lambda: service.edit_subject(sid, "typo", **fields), needle)


# -- found by the properties, fixed in the core ----------------------------------------------------
def test_a_lone_surrogate_in_a_text_is_refused_with_a_clear_message(study):
    """JSON may escape half a UTF-16 pair ("\\ud800"); Python reads it as a lone surrogate, which
    passes every check and then cannot be encoded for SQLite: UnicodeEncodeError escapes from the
    insert. The command line meets the same: arguments not valid in the terminal's encoding reach
    Python as surrogates (``coordinator add-subject ... --name $'Ren\\xe9'`` in a UTF-8 locale)."""
    with fresh(study) as (service, folder):
        refused(service, lambda: import_subjects(service, folder, [new_subject(name="\ud800")]), "name")
        refused(service, lambda: import_subjects(service, folder, [new_subject(
            visits=[{"visit": "SCR", "date": "2025-02-12", "notes": "ok \udfff"}])]), "visits.SCR")
        refused(service, lambda: service.add_subject(make_subject("101-009", name="Ren\udce9")), "name")
        refused(service, lambda: service.record_visit("101-001", "SCR", d("2025-02-12"), notes="\udce9"), "visits.SCR")


def test_a_cycle_number_too_large_for_the_database_is_refused(study):
    """A dose change from cycle 2**63 or later passes the checks (cycle >= 1) and then cannot be
    stored: OverflowError ('Python int too large to convert to SQLite INTEGER') escapes, from an
    import and from ``coordinator change-dose ... --from-cycle 99999999999999999999``."""
    with fresh(study) as (service, folder):
        refused(service, lambda: import_subjects(service, folder, [new_subject(
            dose_changes=[{"drug": "selinexor", "level": -1, "from_cycle": 2 ** 63}])]), "dose_changes", "from_cycle")
        refused(service, lambda: service.change_dose("101-002", "selinexor", -1, 10 ** 20), "dose_changes", "from_cycle")


def test_dates_at_the_start_of_the_calendar_are_refused_not_crashed(study):
    """Dates in year 1 pass the checks when they are in order (born 0001-01-01, consent the next
    day), and building the plan then steps before the first day Python knows: OverflowError
    ('date value out of range') escapes from an import, add_subject and enroll (0001-01-01 is
    what some systems export for an empty date: .NET's DateTime.MinValue)."""
    with fresh(study) as (service, folder):
        ancient = {"birth_date": "0001-01-01", "consent_date": "0001-01-02"}
        refused(service, lambda: import_subjects(service, folder, [new_subject(**ancient, c1d1="0001-01-03")]),
                "birth_date", "consent_date", "c1d1")
        subject = replace(make_subject("101-009"), birth_date=d("0001-01-01"), consent_date=d("0001-01-02"), c1d1=d("0001-01-05"))
        refused(service, lambda: service.add_subject(subject), "birth_date", "consent_date", "c1d1")


def test_a_deeply_nested_import_file_gives_a_clear_message(study):
    """A file nesting lists 100,000 deep (damaged, or not meant for this app) makes json.loads
    raise RecursionError, which import_file does not turn into a message naming the file."""
    with fresh(study) as (service, folder):
        path = folder / "nested.json"
        path.write_text('{"format": "coordinator-subjects/1", "subjects": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
        refused(service, lambda: service.import_file(path), "nested.json")
