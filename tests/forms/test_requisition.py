"""Lab requisitions read back: the words on the page, the barcode a scanner reads, the pages."""

import shutil
import subprocess

import pytest
from helpers import TODAY, d, make_subject
from pdfs import pages_of, text_of, words_of
from reportlab.lib.units import mm

from coordinator.forms.common import build
from coordinator.forms.requisition import _Barcode, _header, _subject_block, accession_id, ordered, requisition_pdf
from coordinator.model import VisitRecord
from coordinator.schedule import build_plan


def visit(protocol, subject, code):
    return next(v for v in build_plan(protocol, subject) if v.code == code)


def test_every_ordered_test_and_nothing_else(protocol):
    woman = make_subject("101-001", c1d1=d("2025-03-03"), name="Ann Synthetic", mrn="MRN-777")
    man = make_subject("101-002", sex="M", c1d1=d("2025-03-03"))
    for subject in (woman, man):
        v = visit(protocol, subject, "C1D22")
        text = " ".join(text_of(requisition_pdf(protocol, subject, v, d("2025-03-24"), "Synthetic Hospital")).split())
        assert subject.id in text and "C1D22" in text and "Cycle 1 Day 22" in text and "Synthetic Hospital" in text
        expected = [p for tests in ordered(protocol, subject, v).values() for p, _ in tests]
        assert expected
        for procedure in expected:
            assert " ".join(procedure.label.split()) in text, procedure.id
        never = [p for p in protocol.procedures.values() if p.specimen != "none" and p not in expected]
        for procedure in never:
            assert " ".join(procedure.label.split()) not in text, procedure.id
    woman_text = text_of(requisition_pdf(protocol, woman, visit(protocol, woman, "C1D22"), TODAY))
    man_text = text_of(requisition_pdf(protocol, man, visit(protocol, man, "C1D22"), TODAY))
    assert "Pregnancy test" in woman_text and "Pregnancy test" not in man_text
    assert "Ann Synthetic" in woman_text and "MRN-777" in woman_text
    assert "02-Apr-1958" in woman_text  # the recorded birth date
    assert "Sex Female" in woman_text and "Sex Male" in man_text


def test_the_page_as_the_lab_reads_it(protocol):
    """The header, the visit's dates, each specimen's container and handling before its tests, the
    blanks for the collection (issue 4's list)."""
    subject = make_subject("101-001", c1d1=d("2025-03-03"))
    text = " ".join(text_of(requisition_pdf(protocol, subject, visit(protocol, subject, "C1D22"), d("2025-03-24"),
                                            "Synthetic Hospital"), layout=False).split())
    assert "Synthetic Hospital LAB REQUISITION LOCAL LABORATORY" in text
    assert "Study SEL-LEN-MM: Selinexor + lenalidomide" in text and "Ordering investigator:" in text
    assert "Collection day Mon 24-Mar-2025" in text  # not recorded yet: the day it is collected
    assert "Target Mon 24-Mar-2025 (window 23-Mar-2025 – 25-Mar-2025)" in text
    serum, chemistry = text.index("SERUM · SST (gold top)"), text.index("Clinical chemistry")
    urine = text.index("24-HOUR URINE · 24-hour urine container (no preservative)")
    handling = text.index("Collect all urine for 24 hours")
    upep = text.index("Urine protein electrophoresis (UPEP)")
    assert serum < chemistry < urine < handling < upep  # each specimen's title and handling, then its tests
    assert "Collected: date" in text and "time" in text and "by (initials)" in text and "Notes:" in text


def test_one_page_per_destination(protocol):
    subject = make_subject("101-001")
    scr = visit(protocol, subject, "SCR")
    destinations = ordered(protocol, subject, scr)
    assert set(destinations) == {"local_lab", "research"}  # screening takes research samples too
    pdf = requisition_pdf(protocol, subject, scr, d("2025-02-20"))
    assert pages_of(pdf) == 2
    text = text_of(pdf)
    assert "LOCAL LABORATORY" in text and "RESEARCH" in text


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
                    reason="zbar-tools / poppler-utils not installed")
@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_the_barcode_reads_back_as_the_accession_id(protocol, tmp_path, dpi):
    subject = make_subject("101-001", c1d1=d("2025-03-03"))
    v = visit(protocol, subject, "C1D8")
    pdf = tmp_path / "req.pdf"
    pdf.write_bytes(requisition_pdf(protocol, subject, v, d("2025-03-10")))
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    image = next(tmp_path.glob("page*.png"))
    out = subprocess.run(["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True).stdout.split()
    assert out == [accession_id("101-001", "C1D8", d("2025-03-10"))] == ["101-001-C1D8-20250310"]
    assert "101-001-C1D8-20250310" in text_of(pdf.read_bytes())  # the same text printed under it


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_the_text_under_the_barcode_stands_clear_of_its_bars(protocol, tmp_path):
    """reportlab set the letters' tops against the bars: at 150 dpi they read as one."""
    subject = make_subject("101-001", c1d1=d("2025-03-03"))
    pdf = tmp_path / "req.pdf"
    pdf.write_bytes(requisition_pdf(protocol, subject, visit(protocol, subject, "C1D8"), d("2025-03-10")))
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(tmp_path / "p")],
                   check=True)
    data = (tmp_path / "p.pgm").read_bytes()
    _, size, _, pixels = data.split(b"\n", 3)  # P5, width height, 255, the pixels
    width, height = map(int, size.split())
    rows = [pixels[y * width + width // 2:(y + 1) * width] for y in range(height)]  # the right half: the barcode's
    striped = [y for y, row in enumerate(rows) if sum((a < 128) != (b < 128) for a, b in zip(row, row[1:])) > 100]
    bars = [y for i, y in enumerate(striped) if y - i == striped[0]]  # the first block of such rows, top down
    assert len(bars) == round(12 / 25.4 * 150)  # the bars, 12 mm tall
    left = min(x for x, v in enumerate(rows[bars[-1]]) if v < 128)
    right = max(x for x, v in enumerate(rows[bars[-1]]) if v < 128)
    # the darkest pixel of each row under the bars (the first may be their anti-aliased edge), then the text
    below = [min(rows[y][left:right + 1]) for y in range(bars[-1] + 1, bars[-1] + 12)]
    white = "".join("w" if darkest >= 200 else "." for darkest in below)
    assert "ww" in white[:5] and "." in white[2:], below  # two white rows (1.5 pt is three), then the text


def test_the_notes_line_runs_across_the_collection_box(protocol):
    subject = make_subject("101-001", c1d1=d("2025-03-03"))
    words = words_of(requisition_pdf(protocol, subject, visit(protocol, subject, "C1D8"), d("2025-03-10")), box=True)
    notes = next(w for w in words if w[-1] == "Notes:")
    blank = next(w for w in words if w[1] == notes[1] and w[-1].startswith("____"))
    right = 210 / 25.4 * 72 - 14 / 25.4 * 72 - 6  # the page's right margin, less the cell's padding
    assert right - 8 < blank[2] <= right  # to the box's end, as far as whole underscores go


def test_a_recorded_visit_date_names_the_accession(protocol):
    """Printed again later, a recorded visit's requisition keeps the day it was collected."""
    subject = make_subject("101-001", c1d1=d("2025-03-03"),
                           visits={"C1D8": VisitRecord("C1D8", d("2025-03-11"), False, "", "")})
    v = visit(protocol, subject, "C1D8")
    assert v.date == d("2025-03-11")
    text = text_of(requisition_pdf(protocol, subject, v, d("2025-03-20")))
    assert "101-001-C1D8-20250311" in text and "101-001-C1D8-20250320" not in text
    assert "Visit date Tue 11-Mar-2025" in text and "Collection day" not in text


# The Schedule of Assessments' specimen tests, written out by hand from the protocol file (not
# from the code under test): what each visit's requisition must carry.
BLOOD_EVERY_VISIT = ["hematology", "chemistry", "electrolytes", "glucose", "total_protein", "amylase", "albumin"]
MYELOMA = ["sflc", "spep", "quant_ig", "serum_ife", "upep", "urine_ife", "urine_protein_24h"]
EXPECTED = {
    "SCR": ["bone_marrow", *BLOOD_EVERY_VISIT, "b2m", *MYELOMA, "biomarker_serum", "urinalysis", "pregnancy_test_screening"],
    "C2D1": [*BLOOD_EVERY_VISIT, "pregnancy_test"],
    "C2D22": [*BLOOD_EVERY_VISIT, *MYELOMA],
    "EOT": [*BLOOD_EVERY_VISIT, "b2m", *MYELOMA],
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
@pytest.mark.parametrize("sex", ["F", "M"])
def test_each_visit_carries_exactly_its_tests(protocol, code, sex):
    subject = make_subject("101-001", sex=sex, c1d1=d("2025-03-03"), last_dose=d("2025-06-20"),
                           end_of_treatment_reason="toxicity")
    v = visit(protocol, subject, code)
    text = " ".join(text_of(requisition_pdf(protocol, subject, v, v.target)).split())
    wanted = [p for p in EXPECTED[code] if sex == "F" or not p.startswith("pregnancy")]
    for procedure in protocol.procedures.values():
        if procedure.specimen == "none":
            continue
        label = " ".join(procedure.label.split())
        assert (label in text) == (procedure.id in wanted), (code, procedure.id)
    assert ("Collect every sample before the day's dose" in text) == (code in ("C2D1", "C2D22"))


def test_a_requested_marrow_and_the_timed_urine(protocol):
    from coordinator.model import ProcedureRecord
    subject = make_subject("101-001", c1d1=d("2025-03-03"),
                           procedures={("C1D22", "bone_marrow_cr"): ProcedureRecord("C1D22", "bone_marrow_cr", "requested")})
    text = " ".join(text_of(requisition_pdf(protocol, subject, visit(protocol, subject, "C1D22"), d("2025-03-24"))).split())
    assert "Bone marrow aspirate and biopsy to confirm CR" in text
    assert "Started: date" in text and "Total volume" in text  # the 24-hour urine's collection blanks


def test_the_subject_block_prints_where_its_table_would(protocol):
    """It is drawn directly (it is on every page of a packet): each word where the table puts it."""
    subject = make_subject("101-001", c1d1=d("2025-03-03"), name="Ann Synthetic", mrn="MRN-777")
    block = _subject_block(subject, visit(protocol, subject, "C1D8"), d("2025-03-10"))
    drawn, table = (build([flowable], "t", protocol.code, TODAY) for flowable in (block, block._as_table()))
    assert words_of(drawn) == words_of(table)
    assert ("Ann", "Synthetic", "MRN-777") <= tuple(word for *_, word in words_of(drawn))


def test_a_name_longer_than_its_cell_wraps_whole(protocol):
    name = "Annabel " + "Synthetic-Doubleday " * 5 + "Last"
    subject = make_subject("101-001", c1d1=d("2025-03-03"), name=name)
    text = " ".join(text_of(requisition_pdf(protocol, subject, visit(protocol, subject, "C1D8"), TODAY)).split())
    assert name.split()[-1] in text and text.count("Synthetic-Doubleday") == 5 and "C1D8" in text


def test_the_barcode_stands_where_the_header_table_would_hold_it(protocol):
    """In a packet the header is shared and the page's barcode drawn in the room it leaves (Inset)."""
    subject = make_subject("101-001", c1d1=d("2025-03-03"))
    v = visit(protocol, subject, "C1D8")
    pdf = requisition_pdf(protocol, subject, v, d("2025-03-10"), "Synthetic Hospital")
    barcode = _Barcode(accession_id("101-001", "C1D8", d("2025-03-10")), barHeight=12 * mm, barWidth=0.27 * mm,
                       humanReadable=True, fontSize=9)
    table = build([_header(protocol, "Synthetic Hospital", "local_lab", barcode)], "t", protocol.code, TODAY)
    header = [word for word in words_of(table) if word[1] < 800]  # not the footer
    assert ("101-001-C1D8-20250310" in {word for *_, word in header}) and len(header) > 10
    assert set(header) <= set(words_of(pdf))  # every word of the header, in its place


def test_each_page_names_its_subject_and_form_in_the_footer(protocol):
    subject = make_subject("101-001", c1d1=d("2025-03-03"))
    pdf = requisition_pdf(protocol, subject, visit(protocol, subject, "SCR"), d("2025-02-20"))
    pages = [" ".join(page.split()) for page in text_of(pdf).split("\f")[:-1]]
    assert len(pages) == 2
    assert "subject 101-001 · lab requisition SCR, local laboratory" in pages[0]
    assert "subject 101-001 · lab requisition SCR, research / biomarker samples" in pages[1]


def test_a_name_in_any_european_script_prints_as_written(protocol):
    name, mrn = "Łukasz Dvořák-Иванов", "МРН-0042"
    subject = make_subject("101-001", c1d1=d("2025-03-03"), name=name, mrn=mrn)
    pdf = requisition_pdf(protocol, subject, visit(protocol, subject, "C1D8"), TODAY, "Szpital w Łodzi")
    text = " ".join(text_of(pdf).split())
    assert f"Name {name}" in text and f"MRN {mrn}" in text and "Szpital w Łodzi" in text
