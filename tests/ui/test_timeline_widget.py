"""The drawn timeline: every visit drawn once in date order, clickable, explained on hover, at 8 and 30 cycles."""

import datetime as dt
from dataclasses import replace

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage
from PySide6.QtWidgets import QApplication, QToolTip

from coordinator.model import Subject, VisitRecord
from coordinator.schedule import build_plan
from coordinator.service import TimelineVisit
from coordinator.ui.status import visit_look
from coordinator.ui.timeline_widget import TimelineWidget

C1D1 = dt.date(2025, 3, 3)  # a Monday
ON_8 = C1D1 + dt.timedelta(days=6 * 28 + 21)  # the day C7D22 is targeted
ON_30 = dt.date(2026, 1, 15)


def walk(protocol, subject, today, skip=(), missed=(), late=None, until=None):
    """Record each visit whose window has closed, at its target (``late``: days after it), as a site would."""
    late = late or {}
    while True:
        plan = build_plan(protocol, subject)
        todo = [v for v in plan if v.code not in subject.visits and v.code not in skip and v.kind != "unscheduled"
                and v.code != "C1D1" and v.cancelled_from is None and v.window_end < today
                and (until is None or v.target <= until)]
        if not todo:
            return subject
        v = todo[0]
        record = VisitRecord(v.code, missed=True, reason="unwell") if v.code in missed else \
            VisitRecord(v.code, v.target + dt.timedelta(days=late.get(v.code, 0)))
        subject = replace(subject, visits={**subject.visits, v.code: record})


def timeline(protocol, subject, today):
    return [TimelineVisit(v, v.status(today)) for v in build_plan(protocol, subject)]


@pytest.fixture
def eight(protocol):
    """Cycle 7 day 22 today: C3D22 missed, C5D22 done 5 days late, C6D22 overdue, one unscheduled visit."""
    subject = Subject("101-001", "AAB", "F", dt.date(1961, 5, 14), dt.date(2025, 2, 10), True, c1d1=C1D1)
    subject = walk(protocol, subject, ON_8, skip={"C6D22"}, missed={"C3D22"}, late={"C5D22": 5})
    subject = replace(subject, visits={**subject.visits, "UNS1": VisitRecord("UNS1", dt.date(2025, 7, 3))})
    return timeline(protocol, subject, ON_8)


@pytest.fixture
def thirty(protocol):
    """30 cycles, then EOT and follow-up: PDFU2 missed, PDFU3 overdue, SURV2 due, the cycles after the last dose cancelled."""
    c1d1 = dt.date(2022, 9, 5)
    subject = Subject("101-002", "BCD", "M", dt.date(1955, 1, 3), c1d1 - dt.timedelta(days=18), False, c1d1=c1d1)
    last_dose = c1d1 + dt.timedelta(days=29 * 28 + 9)
    subject = walk(protocol, subject, ON_30, missed={"C12D22"}, until=last_dose)
    subject = replace(subject, last_dose=last_dose, end_of_treatment_reason="toxicity",
                      events={"progression": dt.date(2025, 11, 1)})
    subject = walk(protocol, subject, ON_30, skip={"PDFU3"}, missed={"PDFU2"})
    return timeline(protocol, subject, ON_30)


@pytest.fixture
def widget(qtbot):
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(1000, widget.height())
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def expected_order(visits):
    """Left to right: a done visit where it was done, any other at its target."""
    def where(tv):
        return tv.visit.date if tv.status == "done" else tv.visit.target
    return [tv.visit.code for tv in sorted(visits, key=lambda tv: (where(tv), tv.visit.window_start))]


def test_the_subjects_have_every_status(eight, thirty):
    assert {tv.status for tv in eight} == {"done", "missed", "overdue", "due", "planned"}
    assert {tv.status for tv in thirty} == {"done", "missed", "overdue", "due", "planned", "cancelled"}
    assert [tv.visit.code for tv in eight if tv.visit.out_of_window] == ["C5D22"]


@pytest.mark.parametrize("subject, count", [("eight", 20), ("thirty", 73)])
def test_every_visit_is_drawn_once_in_date_order(widget, request, subject, count):
    visits = request.getfixturevalue(subject)
    widget.set_timeline(visits, ON_8 if subject == "eight" else ON_30)
    drawn = widget.drawn_visits()
    assert len(drawn) == len(visits) == count
    assert [code for code, _ in drawn] == expected_order(visits)
    day1s = [box.center().x() for code, box in drawn if code.startswith("C") and code.endswith("D1")]
    assert day1s == sorted(day1s) and len(set(day1s)) == len(day1s)


def test_cycle_1_weekly_visits_stay_apart_at_the_default_zoom(widget, eight):
    widget.set_timeline(eight, ON_8)
    boxes = dict(widget.drawn_visits())
    gaps = [boxes[b].center().x() - boxes[a].center().x() for a, b in (("C1D8", "C1D15"), ("C1D15", "C1D22"))]
    assert min(gaps) >= 7 * 4  # at least 4 px a day
    assert not boxes["C1D8"].intersects(boxes["C1D15"])


@pytest.mark.parametrize("subject, due", [("eight", "C7D22"), ("thirty", "SURV2")])
def test_today_and_the_visit_due_today_are_in_view(widget, request, subject, due):
    widget.set_timeline(request.getfixturevalue(subject), ON_8 if subject == "eight" else ON_30)
    box = dict(widget.drawn_visits())[due]
    assert 0 <= box.left() and box.right() <= widget.width()


@pytest.mark.parametrize("code", ["SCR", "C1D8", "C5D22", "UNS1", "C8D22"])
def test_clicking_a_visit_emits_its_code(qtbot, widget, eight, code):
    widget.set_timeline(eight, ON_8)
    widget.select_visit(code)  # scrolls it into view
    box = dict(widget.drawn_visits())[code]
    assert 0 <= box.center().x() <= widget.width()
    with qtbot.waitSignal(widget.visit_clicked, timeout=1000) as blocker:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=box.center().toPoint())
    assert blocker.args == [code]


def test_clicking_between_visits_emits_nothing(qtbot, widget, eight):
    widget.set_timeline(eight, ON_8)
    boxes = dict(widget.drawn_visits())
    between = QPoint(round((boxes["C2D22"].center().x() + boxes["C3D1"].center().x()) / 2), 2)  # the phase-name row
    with qtbot.assertNotEmitted(widget.visit_clicked):
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=between)


def test_clicks_follow_the_scroll_of_a_30_cycle_study(qtbot, widget, thirty):
    widget.set_timeline(thirty, ON_30)
    for code in ("C1D1", "C17D22", "EOT", "SURV3"):
        widget.select_visit(code)
        box = dict(widget.drawn_visits())[code]
        with qtbot.waitSignal(widget.visit_clicked, timeout=1000) as blocker:
            qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=box.center().toPoint())
        assert blocker.args == [code]


def hover(widget, code) -> str:
    widget.select_visit(code)
    pos = dict(widget.drawn_visits())[code].center().toPoint()
    QApplication.sendEvent(widget, QHelpEvent(QEvent.Type.ToolTip, pos, widget.mapToGlobal(pos)))
    return QToolTip.text()


def test_hover_names_the_visit_with_its_dates_and_status(widget, eight):
    widget.set_timeline(eight, ON_8)
    text = hover(widget, "C1D8")
    assert "Cycle 1 Day 8" in text
    assert "Target: Mon 10-Mar-2025" in text
    assert "Window: Sun 09-Mar-2025 – Tue 11-Mar-2025" in text
    assert "✓ done" in text and "Visit date: Mon 10-Mar-2025" in text
    late = hover(widget, "C5D22")
    assert "Visit date: Sat 19-Jul-2025" in late and "! out of window" in late
    assert "▲ overdue" in hover(widget, "C6D22")


def colours_drawn(image: QImage) -> set[str]:
    """The status colours found in the image (a pixel within a small distance of the colour)."""
    wanted = {status: visit_look(status).qcolor() for status in ("done", "due", "overdue", "missed", "planned", "cancelled")}
    found = set()
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = QColor(image.pixel(x, y))
            for status, colour in wanted.items():
                if abs(pixel.red() - colour.red()) + abs(pixel.green() - colour.green()) + abs(pixel.blue() - colour.blue()) < 24:
                    found.add(status)
    return found


@pytest.mark.parametrize("subject", ["eight", "thirty"])
def test_renders_every_status_colour_when_fitted(widget, request, subject):
    visits = request.getfixturevalue(subject)
    widget.set_timeline(visits, ON_8 if subject == "eight" else ON_30)
    widget._fit.click()  # the whole study on one screen
    assert all(0 <= box.left() and box.right() <= widget.width() for _, box in widget.drawn_visits())
    image = widget.grab().toImage()
    assert not image.isNull() and image.width() == widget.width()
    # The legend shows every status colour too: look at the chart only, below the header.
    chart = image.copy(0, widget._header.height(), image.width(), image.height() - widget._header.height())
    assert colours_drawn(chart) >= {tv.status for tv in visits} - {"cancelled"}  # cancelled grey is the palette's too


def test_left_and_right_keys_move_along_the_visits(qtbot, widget, eight):
    widget.set_timeline(eight, ON_8)
    widget.select_visit("C1D8")
    with qtbot.waitSignal(widget.visit_clicked, timeout=1000) as blocker:
        qtbot.keyClick(widget, Qt.Key.Key_Right)
    assert blocker.args == ["C1D15"]
    with qtbot.waitSignal(widget.visit_clicked, timeout=1000) as blocker:
        qtbot.keyClick(widget, Qt.Key.Key_Left)
    assert blocker.args == ["C1D8"]


def test_zoom_spreads_the_visits_and_fit_all_shows_them_all(qtbot, widget, thirty):
    widget.set_timeline(thirty, ON_30)

    def spacing():
        boxes = dict(widget.drawn_visits())
        return boxes["C2D1"].center().x() - boxes["C1D1"].center().x()
    default = spacing()
    qtbot.keyClick(widget, Qt.Key.Key_Plus)
    assert spacing() == pytest.approx(default * 1.25, rel=0.02)
    qtbot.keyClick(widget, Qt.Key.Key_0)
    assert spacing() < default / 4
    assert all(0 <= box.left() and box.right() <= widget.width() for _, box in widget.drawn_visits())
    qtbot.keyClick(widget, Qt.Key.Key_Minus)  # never narrower than the width
    assert all(box.right() <= widget.width() for _, box in widget.drawn_visits())
    assert max(box.right() for _, box in widget.drawn_visits()) > widget.width() * 0.8
