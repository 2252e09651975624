"""The protocol file: what the bundled study says, and clear errors for broken files."""

import re

import pytest

from coordinator import protocol as protocol_mod
from coordinator.errors import ProtocolError

SYNOPSIS_ITEMS = [
    # every procedure and assessment the synopsis names, by the words it uses
    "medical history", "physical examination", "vital signs", "height", "weight", "ECOG",
    "electrocardiogram", "microglobulin", "free light chain", "serum protein electrophoresis",
    "urine protein electrophoresis", "immunoglobulins", "immunofixation", "24-hour urine total protein",
    "biomarkers", "chest radiographs", "skeletal survey", "bone marrow aspirate and biopsy",
    "hematology", "BUN", "creatinine", "uric acid", "LDH", "bilirubin", "alkaline phosphatase", "AST",
    "ALT", "potassium", "sodium", "chloride", "calcium", "glucose", "total protein", "amylase",
    "albumin", "urinalysis", "pregnancy test", "quality of life", "adverse events",
    "concomitant medications", "growth factors", "transfusions", "response", "5-HT3", "aspirin",
]


def test_bundled_protocol_top_level(protocol):
    assert protocol.code == "SEL-LEN-MM"
    assert protocol.enrollment_cap == 22
    assert protocol.cycle_length_days == 28
    assert re.search(r"^enrollment_cap = 22\b", protocol.text, re.M)


def test_every_synopsis_item_is_in_the_protocol(protocol):
    words = " ".join(
        [p.label + " " + " ".join(p.tests) for p in protocol.procedures.values()]
    ).lower()
    missing = [item for item in SYNOPSIS_ITEMS if item.lower() not in words]
    assert missing == []


def test_every_procedure_has_category_specimen_panel(protocol):
    for p in protocol.procedures.values():
        assert p.category in protocol.categories
        assert p.specimen in protocol.specimens
        assert (p.specimen == "none") == (p.panel == "none") == (p.destination == "none")
    assert set(protocol.categories.values()) >= {
        "History and examination", "Vital signs", "ECG", "Imaging", "Bone marrow", "Hematology", "Chemistry",
        "Myeloma labs", "Urine", "Pregnancy test", "Questionnaire", "Safety review", "Dosing"}


def ids_at(protocol, code):
    return [p.id for p in protocol.procedures_at(protocol.parse_visit(code))]


def test_pregnancy_testing_follows_the_lenalidomide_schedule(protocol):
    # 10-14 days before, within 24 h before C1D1, weekly in cycle 1, then each cycle's day 1
    assert "pregnancy_test_screening" in ids_at(protocol, "SCR")
    for code in ("C1D1", "C1D8", "C1D15", "C1D22", "C2D1", "C3D1", "C12D1"):
        assert "pregnancy_test" in ids_at(protocol, code), code
    for code in ("C2D22", "C3D22", "EOT"):
        assert "pregnancy_test" not in ids_at(protocol, code), code
    assert protocol.procedures["pregnancy_test"].condition == "fcbp"
    screening = protocol.procedures["pregnancy_test_screening"]
    assert (screening.lookback_days, screening.min_days_before) == (14, 10)


def test_myeloma_assessment_on_day_22_and_marrow_on_request(protocol):
    for code in ("C1D22", "C2D22", "C9D22"):
        assert {"spep", "upep", "sflc", "serum_ife", "urine_ife", "quant_ig", "urine_protein_24h"} <= set(ids_at(protocol, code))
    assert "spep" not in ids_at(protocol, "C2D1")
    assert protocol.conditions[protocol.procedures["bone_marrow_cr"].condition].on_request
    for item in ("bone_marrow", "chest_xray", "skeletal_survey"):
        assert protocol.procedures[item].lookback_days == 28


def test_visit_codes(protocol):
    assert protocol.parse_visit("C1D8").cycle == 1
    assert protocol.parse_visit("C2D8") is None  # cycle 2 has days 1 and 22 only
    assert protocol.parse_visit("PDFU3").number == 3
    assert protocol.parse_visit("SURV0") is None
    assert protocol.parse_visit("UNS01") is None
    assert protocol.parse_visit("XYZ") is None


def test_drugs_and_dose_levels(protocol):
    sel, len_ = protocol.drug("selinexor"), protocol.drug("lenalidomide")
    assert (sel.dose_mg(0), sel.dose_mg(-1), sel.dose_mg(-2)) == (60, 40, 20)
    assert sel.days == (1, 8, 15, 22)
    assert len_.days == tuple(range(1, 22))
    assert (len_.dose_mg(0), len_.dose_mg(-1), len_.dose_mg(-2)) == (10, 5, 2.5)


def test_assumptions_are_listed_and_referenced(protocol):
    ids = {a.id for a in protocol.assumptions}
    assert len(ids) >= 10
    for ref in set(re.findall(r"# .*?\b(A\d+)\b", protocol.text)):
        assert ref in ids


def broken(text_change, tmp_path):
    text = protocol_mod.BUNDLED.read_text()
    old, new = text_change
    assert old in text
    path = tmp_path / "broken.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ProtocolError) as info:
        protocol_mod.load(path)
    return info.value


@pytest.mark.parametrize("change, field, words", [
    (("enrollment_cap = 22", "enrollment_cap = \"22\""), "enrollment_cap", "whole number"),
    (("cycle_length_days = 28", "cycle_length_days = 0"), "cycle_length_days", "at least 1"),
    (('category = "hematology"', 'category = "haematology"'), "procedures.hematology.category", "not one of"),
    (('hematology               = ["SCR"', 'hematology               = ["SCRN"'), "schedule.hematology", "not a visit pattern"),
    (('b2m                      = ["SCR", "EOT"]', 'b2m = ["SCR", "C2D8"]'), "schedule.b2m", "matches no visit"),
    (('window_before = 3', 'window_befor = 3'), "cycle_visits[5].window_befor", "unknown field"),
    (('stops_on = ["progression", ', 'stops_on = ["relapse", '), "follow_up[1].stops_on", "not an event"),
    (('condition = "fcbp"', 'condition = "female"'), "procedures.pregnancy_test_screening.condition", "not one of"),
    (('format = "coordinator-protocol/1"', 'format = "other/9"'), "format", "must be"),
])
def test_broken_protocol_names_file_field_problem(tmp_path, change, field, words):
    error = broken(change, tmp_path)
    assert error.field == field
    assert words in error.problem
    assert str(error).startswith(str(tmp_path / "broken.toml"))


def test_protocol_that_is_not_toml(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("code = [unclosed\n")
    with pytest.raises(ProtocolError, match="not valid TOML"):
        protocol_mod.load(path)


def test_missing_protocol_file(tmp_path):
    with pytest.raises(ProtocolError, match="no such file"):
        protocol_mod.load(tmp_path / "nope.toml")


@pytest.mark.parametrize("change, field, words", [
    (('label = "Progression follow-up {n}"', 'label = "Progression follow-up {x}"'), "follow_up[1].label", "bad placeholder"),
    (('label = "Cycle {cycle} Day 8"', 'label = "Cycle {cycle} Day {"'), "cycle_visits[2].label", "bad placeholder"),
    (("equals = true", 'equals = "yes"'), "conditions.fcbp.equals", "true or false"),
])
def test_protocol_labels_and_condition_values(tmp_path, change, field, words):
    error = broken(change, tmp_path)
    assert (error.field, words in error.problem) == (field, True)
