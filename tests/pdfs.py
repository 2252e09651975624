"""Reading the app's PDFs back as a reader would, with poppler's tools (pdftotext, pdfinfo, pdffonts):
the forms' and the GUI's tests share these. A test whose tool is not installed skips."""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
FOOTER_Y = 800  # points from the top: the forms' footer (printed date, page number) is below


def _run(tool: str, pdf: bytes | Path, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory() as folder:
        path = pdf if isinstance(pdf, Path) else Path(folder) / "read.pdf"
        if not isinstance(pdf, Path):
            path.write_bytes(pdf)
        to_stdout = ["-"] if tool == "pdftotext" else []
        return subprocess.run([tool, *args, str(path), *to_stdout], capture_output=True, text=True, check=True).stdout


def text_of(pdf: bytes | Path, layout: bool = True) -> str:
    """The text, laid out as on the page (``layout``) or in reading order; pages end with a form feed."""
    return _run("pdftotext", pdf, *(["-layout"] if layout else []))


def page_texts(pdf: bytes | Path, layout: bool = True) -> list[str]:
    return text_of(pdf, layout).split("\f")[:-1]


def pages_of(pdf: bytes | Path) -> int:
    info = _run("pdfinfo", pdf)
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])


def fonts_of(pdf: bytes | Path) -> str:
    return _run("pdffonts", pdf)


def placed(pdf: bytes | Path, digits: int = 2, footer: bool = True, box: bool = False) -> list[list[tuple]]:
    """Each page's words with where each starts, (x, y, word) from the top left, as pdftotext finds
    them, rounded to ``digits`` (pdftotext gives 6); ``box``: (x, y, right, bottom, word);
    ``footer=False`` leaves out the forms' footer (printed date, page number)."""
    pages = _run("pdftotext", pdf, "-bbox").split("<page ")[1:]
    out = []
    for page in pages:
        words = [(*(round(float(n), digits) for n in edges), word) for *edges, word in WORD.findall(page)]
        out.append([(x, y, right, bottom, word) if box else (x, y, word) for x, y, right, bottom, word in words
                    if footer or y < FOOTER_Y])
    return out


def words_of(pdf: bytes | Path, digits: int = 2, footer: bool = True, box: bool = False) -> list[tuple]:
    """``placed``, every page's words in one list."""
    return [word for page in placed(pdf, digits, footer, box) for word in page]
