"""The dosing calendar, read back as a patient and a pharmacist would read it: the dates of each
row, what to take on each day, the reminders, on one page."""

import dataclasses
import re

import pytest
from helpers import d, make_subject
from pdfs import pages_of, text_of, words_of
from reportlab.pdfbase.pdfmetrics import stringWidth

from coordinator.dates import days, display
from coordinator.errors import InputError
from coordinator.forms.dosing import cycle_day1, dosing_pdf, dosing_story, units
from coordinator.forms.stamps import Stamps
from coordinator.model import NO_STEROID, DoseChange, Steroid, VisitRecord

C1D1 = d("2025-03-03")  # a Monday
C2D1_LATE = d("2025-04-05")  # C2D1's target is Mon 31-Mar-2025: recorded 5 days late
PRINTED = d("2025-04-04")
DEX = Steroid("dexamethasone", 20, (1, 8, 15, 22))
ROW = re.compile(r"^\s*(\d{1,2})\s+((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{2}-[A-Z][a-z]{2})\b(.*)$")


def subject(**facts):
    facts = {"c1d1": C1D1, "steroid": DEX, "visits": {"C2D1": VisitRecord("C2D1", C2D1_LATE)}} | facts
    return make_subject(**facts)


def rows(text: str) -> dict[int, tuple[str, str]]:
    """Calendar rows as {day: (date, the rest of the line)}."""
    found = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            found[int(match[1])] = (match[2], match[3])
    return found


def flat(text: str) -> str:
    return " ".join(text.split())


def test_one_a4_page_for_a_cycle(protocol):
    reduced = subject(dose_changes=(DoseChange("selinexor", -1, 3), DoseChange("lenalidomide", -1, 3)),
                      steroid=Steroid("prednisone", 50, (1, 2, 3, 4, 5)))  # 2 × 20 mg + 1 × 10 mg
    for someone, cycle in [(subject(), 1), (subject(), 2), (reduced, 3), (subject(steroid=None), 2)]:
        pdf = dosing_pdf(protocol, someone, cycle, PRINTED)
        assert pages_of(pdf) == 1, (someone.steroid, cycle)


def test_a_delayed_cycle_counts_every_row_from_its_actual_day_1(protocol):
    text = text_of(dosing_pdf(protocol, subject(), 2, PRINTED))
    assert cycle_day1(protocol, subject(), 2) == C2D1_LATE
    assert "Day 1 = Sat 05-Apr-2025" in text
    assert "Day 28 = Fri 02-May-2025" in text
    assert "(planned)" not in text
    calendar = rows(text)
    assert sorted(calendar) == list(range(1, 29))
    for day, (date, _rest) in calendar.items():
        assert date == display(C2D1_LATE + days(day - 1), weekday=True)[:10], day
    assert calendar[8][0] == "Sat 12-Apr" and calendar[22][0] == "Sat 26-Apr"
    assert "Mon 31-Mar" not in text  # the target, where the cycle would have started on time


def test_a_cycle_not_yet_started_stands_on_its_target(protocol):
    # C3D1's target: 28 days after C2D1's actual date
    assert cycle_day1(protocol, subject(), 3) == C2D1_LATE + days(28)
    assert cycle_day1(protocol, subject(), 1) == C1D1
    text = text_of(dosing_pdf(protocol, subject(), 3, PRINTED))
    assert "Day 1 = Sat 03-May-2025 (planned)" in text
    assert rows(text)[1][0] == "Sat 03-May"


def test_a_dose_reduction_shows_from_its_cycle_on(protocol):
    reduced = subject(dose_changes=(DoseChange("selinexor", -1, 3),))
    before = text_of(dosing_pdf(protocol, reduced, 2, PRINTED))
    after = text_of(dosing_pdf(protocol, reduced, 3, PRINTED))
    selinexor_days = (1, 8, 15, 22)

    assert "Selinexor, level 0: 60 mg" in before
    assert all("60 mg = 3 × 20 mg tablets" in rows(before)[day][1] for day in selinexor_days)
    assert "40 mg" not in before and "reduced" not in before.lower()

    assert "Selinexor, level –1: 40 mg" in after
    assert all("40 mg = 2 × 20 mg tablets" in rows(after)[day][1] for day in selinexor_days)
    assert "60 mg = 3" not in after
    assert "Selinexor: dose reduced from this cycle: level –1 (was 60 mg, level 0)" in after
    assert "REDUCED from this cycle" in after  # under the column's heading too
    assert "8 tablets (2 × 4 days)" in after  # the dispensing guidance follows the dose

    later = text_of(dosing_pdf(protocol, reduced, 4, PRINTED))
    assert "40 mg = 2 × 20 mg tablets" in later and "reduced" not in later.lower()  # still level -1, no news
    back = subject(dose_changes=(DoseChange("selinexor", -1, 3), DoseChange("selinexor", 0, 4)))
    assert "dose increased from this cycle: level 0 (was 40 mg, level –1)" in text_of(dosing_pdf(protocol, back, 4, PRINTED))


def test_each_drug_on_its_days_only(protocol):
    calendar = rows(text_of(dosing_pdf(protocol, subject(), 2, PRINTED)))
    for day, (_date, rest) in calendar.items():
        assert ("10 mg = 1 × 10 mg capsule" in rest) == (day <= 21), day
        assert ("60 mg = 3 × 20 mg tablets" in rest) == (day in (1, 8, 15, 22)), day
        assert ("20 mg = 5 × 4 mg tablets" in rest) == (day in DEX.days), day
    assert all(not rest.strip() for day, (_date, rest) in calendar.items() if day > 22)


def test_the_steroid_on_its_days_with_its_units(protocol):
    dex = subject(steroid=Steroid("dexamethasone", 12, (1, 2, 15, 16)))
    text = text_of(dosing_pdf(protocol, dex, 2, PRINTED))
    assert "Dexamethasone: 12 mg" in text and "days 1, 2, 15, 16" in text
    for day, (_date, rest) in rows(text).items():
        assert ("12 mg = 3 × 4 mg tablets" in rest) == (day in (1, 2, 15, 16)), day
    dispensing = text[text.index("Dispensing and returns"):]
    assert re.search(r"Dexamethasone\s+4 mg tablet\s+3\s+12 tablets \(3 × 4 days\)", dispensing)
    assert re.search(r"Lenalidomide\s+10 mg capsule\s+1\s+21 capsules \(1 × 21 days\)", dispensing)
    assert "not recorded" not in text


def test_a_steroid_dose_of_two_strengths(protocol):
    pred = subject(steroid=Steroid("prednisone", 30, (1, 2, 15, 16)))
    pdf = dosing_pdf(protocol, pred, 2, PRINTED)
    text = text_of(pdf)
    assert text.count("30 mg = 1 × 20 mg + 1 × 10 mg") == 4  # the cell wraps: "tablets" goes below
    dispensing = text[text.index("Dispensing and returns"):]
    assert re.search(r"Prednisone\s+20 mg tablet\s+1\s+4 tablets \(1 × 4 days\)", dispensing)
    assert re.search(r"Prednisone\s+10 mg tablet\s+1\s+4 tablets \(1 × 4 days\)", dispensing)
    assert pages_of(pdf) == 1


def test_a_missing_steroid_is_said_not_guessed(protocol):
    text = text_of(dosing_pdf(protocol, subject(steroid=None), 2, PRINTED))
    assert "Steroid: not recorded — enter in the app before dispensing" in text
    assert not any(s.name in text for s in protocol.steroids.values())
    assert "Selinexor, level 0: 60 mg" in text and "Lenalidomide, level 0: 10 mg" in text


def test_reminders_come_from_the_protocol(protocol):
    text = flat(text_of(dosing_pdf(protocol, subject(), 2, PRINTED)))
    for drug in protocol.drugs:
        for note in drug.notes:
            assert flat(note) in text
    assert "5-HT3 antagonist" in text and "Aspirin" in text and "not repeated" in text

    selinexor = protocol.drug("selinexor")
    other = dataclasses.replace(protocol, drugs=(dataclasses.replace(selinexor, notes=("Drink two glasses of water.",)),
                                                 *[drug for drug in protocol.drugs if drug is not selinexor]))
    text = flat(text_of(dosing_pdf(other, subject(), 2, PRINTED)))
    assert "Selinexor: Drink two glasses of water." in text
    assert "5-HT3" not in text


def test_header_and_signatures(protocol):
    text = text_of(dosing_pdf(protocol, subject(), 2, PRINTED))
    assert "DOSING CALENDAR · Cycle 2" in text
    assert re.search(r"Subject 101-001\s+Initials ABC", text)
    assert protocol.code in text
    for who in ("Patient", "Coordinator", "Investigator"):
        assert f"{who} signature" in text
    for blank in ("dispensed", "Lot no.", "returned at", "Pill count"):
        assert blank in text


def test_units():
    assert units(40, (4, 2, 1, 0.5)) == [(10, 4.0)]
    assert units(60, (20,)) == [(3, 20.0)]
    assert units(2.5, (10, 5, 2.5)) == [(1, 2.5)]
    assert units(7.5, (10, 5, 2.5)) == [(1, 5.0), (1, 2.5)]
    assert units(6, (4, 2, 1, 0.5)) == [(1, 4.0), (1, 2.0)]
    assert units(12, (10, 6, 1)) == [(2, 6.0)]  # fewest units, not the largest tablet first (10 + 1 + 1)
    assert units(0.3, (0.1,)) == [(3, 0.1)]  # decimal: 3 × 0.1 is 0.3 here
    for dose, strengths in [(2.5, (20, 10, 5, 1)), (3, (2,)), (0, (1,)), (5, ())]:
        with pytest.raises(ValueError):
            units(dose, strengths)


def test_a_cycle_outside_the_plan_is_refused(protocol):
    screening = make_subject()  # consented, no first dose
    with pytest.raises(InputError) as caught:
        cycle_day1(protocol, screening, 1)
    assert (caught.value.subject, caught.value.field) == ("101-001", "cycle")
    for cycle in (0, protocol.evaluation_cycles + 1):
        with pytest.raises(InputError, match=f"cycle {cycle} is not in the subject's plan"):
            dosing_pdf(protocol, subject(), cycle, PRINTED)
    stopped = subject(last_dose=d("2025-04-20"))  # treatment ended during cycle 2
    assert cycle_day1(protocol, stopped, 2) == C2D1_LATE
    with pytest.raises(InputError, match="cycle 3 was cancelled"):
        dosing_story(protocol, stopped, 3)


def test_no_steroid_means_no_column_and_no_warning(protocol):
    someone = make_subject("101-001", c1d1=d("2025-03-03"), steroid=Steroid(NO_STEROID, 0, ()))
    text = text_of(dosing_pdf(protocol, someone, 1, d("2025-03-03")))
    assert "not recorded" not in text and "Dexamethasone" not in text and "Prednisone" not in text
    assert "Selinexor" in text and "Lenalidomide" in text


def test_the_subject_box_stands_where_the_header_table_would_hold_it(protocol):
    """In a packet the header is shared and the subject's box drawn in the room it leaves (Inset)."""
    from coordinator.forms import dosing
    from coordinator.forms.common import build
    someone = subject()
    header = dosing._header(protocol, someone, 2, C2D1_LATE, planned=False, stamps=Stamps())
    table = dosing._header_table(protocol, 2, header.own)
    drawn, whole = (words_of(build([flowable], "t", protocol.code, PRINTED)) for flowable in (header, table))
    assert drawn == whole and "101-001" in {word for *_, word in drawn}


def test_a_dose_the_strengths_cannot_make_still_fits_one_page(protocol):
    """13 mg of methylprednisolone cannot be made from its strengths: the notice says so, each dose
    day says 'ask pharmacy' on one line, and the form stays one page (it ran onto a second page,
    the signatures alone, before 2026-11-24); the long drug name keeps within its column."""
    odd = subject(steroid=Steroid("methylprednisolone", 13, (1, 2, 3, 4, 8, 9, 10, 11, 15, 16, 17, 18, 22)))
    pdf = dosing_pdf(protocol, odd, 2, PRINTED)
    assert pages_of(pdf) == 1
    text = flat(text_of(pdf))
    assert "Methylprednisolone 13 mg cannot be made exactly from the tablet strengths" in text
    assert text.count("13 mg: ask pharmacy") == 13
    assert "subject 101-001 · dosing calendar, cycle 2" in text  # the footer
    placed = words_of(pdf)
    name = next((x, y) for x, y, word in placed if word == "Methylprednisolone" and y > 600)  # the dispensing row
    right = min(x for x, y, word in placed if abs(y - name[1]) < 1 and x > name[0])
    width = stringWidth("Methylprednisolone", "Helvetica-Bold", 8)
    assert name[0] + width < right
