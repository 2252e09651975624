"""The day's packet, made on a worker thread with a progress bar, then previewed.

A hundred pages take a few seconds; the window stays alive meanwhile. The worker reports
progress into a plain counter that a GUI-thread timer reads (no Qt object crosses threads).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget

from coordinator.dates import display
from coordinator.ui import ask
from coordinator.ui.session import Session

POLL_MS = 100


class PacketJob(QObject):
    def __init__(self, session: Session, day: dt.date, parent: QWidget):
        super().__init__(parent)
        self.session = session
        self.day = day
        self.parent_widget = parent
        self.state = {"done": 0, "total": 0}
        self.progress = ask.busy(parent, f"Making the packet of {display(day, weekday=True)}…", Qt.WindowModality.WindowModal)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        from coordinator.ui.form_preview import preview_pages
        state, day, pixel_ratio = self.state, self.day, self.parent_widget.devicePixelRatioF()

        def make(service):
            def tell(done: int, total: int) -> None:
                state["done"], state["total"] = done, total
            visits = service.day_packet(day)
            pdf = service.day_packet_pdf(day, progress=tell, visits=visits)
            return pdf, len(visits), preview_pages(pdf, pixel_ratio)  # the preview's pages drawn here too
        self.timer.start()
        self.session.run_in_background(self.parent_widget, make, self._on_done, self._on_failed)

    def _on_timer_timeout(self) -> None:
        if self.state["total"]:
            self.progress.setMaximum(self.state["total"])
            self.progress.setValue(self.state["done"])
            self.progress.setLabelText(f"Laying out visit {self.state['done']} of {self.state['total']}…")

    def _finish(self) -> None:
        self.timer.stop()
        self.progress.close()
        self.deleteLater()

    def _on_done(self, result) -> None:
        self._finish()
        pdf, visits, pages = result
        from coordinator.ui.form_preview import FormPreviewDialog
        title = "Day packet"
        count = f"{visits} visit{'s' if visits != 1 else ''}"
        FormPreviewDialog(self.session, title, pdf, f"day packet {self.day.isoformat()} ({count})", None,
                          f"packet-{self.day.isoformat()}.pdf", self.parent_widget, pages).exec()

    def _on_failed(self, exc: Exception) -> None:
        self._finish()
        ask.failure(self.parent_widget, "The day's packet could not be made.", exc)
