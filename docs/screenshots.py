"""Take the README's screenshots of the app on a fresh demo database.

Run under a virtual display:  xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots.py
Writes docs/screenshots/{dashboard,subject,checklist,registry,audit,locked}.png and two printed
forms, {requisition,dosing}.png (the PDF pages as the preview draws them).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from coordinator import demo
from coordinator.service import Service
from coordinator.ui.app import application, open_window
from coordinator.ui.main_window import MainWindow
from coordinator.ui.session import Session

OUT = Path(__file__).parent / "screenshots"


def wait(ms: int) -> None:
    end = QTimer()
    end.setSingleShot(True)
    end.start(ms)
    while end.isActive():
        QApplication.processEvents()


def main() -> int:
    folder = Path(tempfile.mkdtemp())
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    app = application()
    path = folder / "demo.db"
    service = Service.create(path)
    service.import_subjects(demo.demo_subjects(service.protocol, service.today), source="demo")
    service.set_site("Synthetic General Hospital")
    from coordinator.ui.form_preview import page_images
    OUT.mkdir(exist_ok=True)
    page_images(service.requisition_pdf("101-003", "C1D8"), 80)[0].save(str(OUT / "requisition.png"))
    page_images(service.dosing_pdf("101-006", 5), 80)[0].save(str(OUT / "dosing.png"))
    service.close()
    window = open_window(path)
    window.resize(1500, 900)
    wait(800)
    OUT.mkdir(exist_ok=True)
    window.grab().save(str(OUT / "dashboard.png"))
    window.show_view("subjects")
    wait(800)
    window.grab().save(str(OUT / "registry.png"))
    rows = window.due_view.rows()
    pick = next((r for r in rows if r.section in ("due", "closing")), rows[0])
    window.open_subject(pick.subject, pick.visit)
    wait(500)
    window.grab().save(str(OUT / "subject.png"))
    on_treatment = [s for s in window.subjects_view.model.rows() if s.status == "on_treatment" and s.cycle_day
                    and s.cycle_day[0] >= 4]
    if on_treatment:
        window.open_subject(on_treatment[0].id)
        wait(500)
        window.grab().save(str(OUT / "checklist.png"))
    window.show_view("audit")
    wait(800)
    window.audit_view.verify()
    wait(800)
    window.grab().save(str(OUT / "audit.png"))
    window.close()
    # with accounts: a coordinator's window, locked
    service = Service.open(path)
    service.add_account("admin", "admin", "synthetic admin password", "Site Admin")
    service.add_account("cdiaz", "coordinator", "synthetic coordinator password", "Cora Diaz")
    service.log_in("cdiaz", "synthetic coordinator password")
    window = MainWindow(Session(service, path))
    window.resize(1500, 900)
    window.show()
    wait(800)
    window.window_lock.lock()
    wait(300)
    window.grab().save(str(OUT / "locked.png"))
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
