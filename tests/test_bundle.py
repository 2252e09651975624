"""The PyInstaller bundle (build.spec) builds and starts headless, as a user would run it:
the window comes up on a new demo database, and the command line reads that database.

Builds once per run into a temporary folder (about 15 s with a warm PyInstaller cache)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PyInstaller", reason="PyInstaller is not installed (it comes with the test extra: pip install -e '.[test]')")

pytestmark = pytest.mark.bundle

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The bundle's program, built from the checkout's build.spec."""
    out = tmp_path_factory.mktemp("bundle")
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(out / "dist"), "--workpath", str(out / "build"), str(ROOT / "build.spec")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert build.returncode == 0, f"pyinstaller build.spec failed:\n{build.stdout[-2000:]}\n{build.stderr[-4000:]}"
    program = out / "dist" / "coordinator" / ("coordinator.exe" if sys.platform == "win32" else "coordinator")
    assert program.is_file()
    return program


def start(program: Path, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the bundle headless, with settings and default data kept inside ``folder``."""
    env = {k: v for k, v in os.environ.items() if k != "COORDINATOR_DB"}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(folder / "config"), XDG_DATA_HOME=str(folder / "data"))
    return subprocess.run([str(program), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_window_comes_up_on_a_new_demo_database_and_the_command_line_reads_it(bundle, tmp_path):
    db = tmp_path / "site" / "study.db"

    opened = start(bundle, tmp_path, "--db", str(db), "open", "--demo", "--smoke")

    assert opened.returncode == 0, opened.stderr
    assert "coordinator: window up: Coordinator · SEL-LEN-MM" in opened.stdout
    assert "Traceback" not in opened.stderr
    assert db.is_file()

    due = start(bundle, tmp_path, "--db", str(db), "due", "--json")

    assert due.returncode == 0, due.stderr
    items = json.loads(due.stdout)
    assert items, "the demo database has visits overdue, due or coming up around today"
    assert {item["status"] for item in items} <= {"overdue", "due", "upcoming"}
    assert all(item["subject"].startswith("101-") for item in items)


def test_protocol_is_read_from_inside_the_bundle(bundle, tmp_path):
    shown = start(bundle, tmp_path, "protocol", "--json")

    assert shown.returncode == 0, shown.stderr
    protocol = json.loads(shown.stdout)
    assert protocol["code"] == "SEL-LEN-MM"
    assert Path(protocol["source"]).is_relative_to(bundle.parent)


def test_forms_are_made_inside_the_bundle(bundle, tmp_path):
    """reportlab's barcodes and font tables load modules by name: the bundle must carry them."""
    db = tmp_path / "forms.db"
    assert start(bundle, tmp_path, "--db", str(db), "demo").returncode == 0
    # a site name the standard fonts cannot print: the forms' fallback font must be in the bundle
    assert start(bundle, tmp_path, "--db", str(db), "site", "Szpital w Łodzi").returncode == 0
    for args in (["requisition", "101-003", "SCR"], ["dosing", "101-003", "1"], ["day"]):
        out = tmp_path / f"{args[0]}.pdf"
        made = start(bundle, tmp_path, "--db", str(db), "print", *args, "-o", str(out))
        assert made.returncode == 0, made.stderr
        assert out.read_bytes().startswith(b"%PDF")
