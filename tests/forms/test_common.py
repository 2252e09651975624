"""The forms' shared pieces: a drawn ``line`` prints exactly as the Paragraph it replaces."""

import datetime as dt
import shutil
import subprocess

import pytest
from reportlab.platypus import Spacer

from coordinator.forms.common import BODY, Label, bold, build, esc, line, para

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def words(pdf: bytes, tmp_path, name: str) -> list[str]:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [w for w in out.splitlines() if w.strip().startswith("<word")]


@pytest.mark.parametrize("parts", [("Collected: date ______",), ("Subject ", bold("101-001"), " & <co>"),
                                   ("a long label " * 30,)])
def test_a_line_prints_where_its_paragraph_would(tmp_path, parts):
    markup = "".join(f"<b>{esc(p[0])}</b>" if isinstance(p, tuple) else esc(p) for p in parts)
    drawn = build([line(*parts), Spacer(1, 5)], "t", "TEST", dt.date(2025, 3, 3))
    typed = build([para(markup, BODY), Spacer(1, 5)], "t", "TEST", dt.date(2025, 3, 3))
    assert words(drawn, tmp_path, "drawn") == words(typed, tmp_path, "typed")


def text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def fonts(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout


WORLD = "Łukasz Dvořák · Иванов · Ğül Şahin · Σοφία · ≥ 5 mL"  # none of it all in the standard fonts


@pytest.mark.parametrize("make", [lambda t: line("Name ", bold(t)), lambda t: para(f"Name <b>{esc(t, 'b')}</b>", BODY)],
                         ids=["line", "paragraph"])
def test_letters_beyond_western_europe_print_as_themselves(tmp_path, make):
    """Not as the black boxes the PDF standard fonts make of them: those characters are in DejaVu Sans."""
    pdf = build([make(WORLD)], "t", "TEST", dt.date(2025, 3, 3))
    assert WORLD in " ".join(text(pdf, tmp_path).split())
    assert "DejaVuSans-Bold" in fonts(pdf, tmp_path)


def test_western_text_keeps_the_standard_fonts(tmp_path):
    pdf = build([line("Name ", bold("Zoë Müller-Ørsted"))], "t", "TEST", dt.date(2025, 3, 3))
    assert "Zoë Müller-Ørsted" in text(pdf, tmp_path)
    assert "DejaVu" not in fonts(pdf, tmp_path)  # nothing embedded that is not needed


def test_every_page_of_a_form_names_it_in_the_footer(tmp_path):
    """A form that runs onto another page still says whose it is there."""
    from reportlab.platypus import Table

    tall = Table([[f"row {i}"] for i in range(120)])
    pdf = build([Label("subject 101-001  ·  dosing calendar, cycle 2"), tall], "t", "TEST", dt.date(2025, 3, 3))
    pages = [" ".join(page.split()) for page in text(pdf, tmp_path).split("\f")[:-1]]
    assert len(pages) == 3
    assert all("Study TEST · subject 101-001 · dosing calendar, cycle 2 · printed" in page for page in pages)
