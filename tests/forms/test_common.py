"""The forms' shared pieces: a drawn ``line`` prints exactly as the Paragraph it replaces."""

import datetime as dt
import shutil
import subprocess

import pytest
from reportlab.platypus import Spacer

from coordinator.forms.common import BODY, bold, build, esc, line, para

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
