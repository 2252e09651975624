"""The forms' shared pieces: a drawn ``line`` prints exactly as the Paragraph it replaces."""

import datetime as dt

import pytest
from pdfs import fonts_of, page_texts, text_of, words_of
from reportlab.platypus import Spacer, Table

from coordinator.forms.common import BODY, Label, bold, build, esc, line, para


@pytest.mark.parametrize("parts", [("Collected: date ______",), ("Subject ", bold("101-001"), " & <co>"),
                                   ("a long label " * 30,)])
def test_a_line_prints_where_its_paragraph_would(parts):
    markup = "".join(f"<b>{esc(p[0])}</b>" if isinstance(p, tuple) else esc(p) for p in parts)
    drawn = build([line(*parts), Spacer(1, 5)], "t", "TEST", dt.date(2025, 3, 3))
    typed = build([para(markup, BODY), Spacer(1, 5)], "t", "TEST", dt.date(2025, 3, 3))
    assert words_of(drawn, digits=6, box=True) == words_of(typed, digits=6, box=True)


WORLD = "Łukasz Dvořák · Иванов · Ğül Şahin · Σοφία · ≥ 5 mL"  # none of it all in the standard fonts


@pytest.mark.parametrize("make", [lambda t: line("Name ", bold(t)), lambda t: para(f"Name <b>{esc(t, 'b')}</b>", BODY)],
                         ids=["line", "paragraph"])
def test_letters_beyond_western_europe_print_as_themselves(make):
    """Not as the black boxes the PDF standard fonts make of them: those characters are in DejaVu Sans."""
    pdf = build([make(WORLD)], "t", "TEST", dt.date(2025, 3, 3))
    assert WORLD in " ".join(text_of(pdf, layout=False).split())
    assert "DejaVuSans-Bold" in fonts_of(pdf)


def test_western_text_keeps_the_standard_fonts():
    pdf = build([line("Name ", bold("Zoë Müller-Ørsted"))], "t", "TEST", dt.date(2025, 3, 3))
    assert "Zoë Müller-Ørsted" in text_of(pdf, layout=False)
    assert "DejaVu" not in fonts_of(pdf)  # nothing embedded that is not needed


def test_every_page_of_a_form_names_it_in_the_footer():
    """A form that runs onto another page still says whose it is there."""
    tall = Table([[f"row {i}"] for i in range(120)])
    pdf = build([Label("subject 101-001  ·  dosing calendar, cycle 2"), tall], "t", "TEST", dt.date(2025, 3, 3))
    pages = [" ".join(page.split()) for page in page_texts(pdf, layout=False)]
    assert len(pages) == 3
    assert all("Study TEST · subject 101-001 · dosing calendar, cycle 2 · printed" in page for page in pages)
