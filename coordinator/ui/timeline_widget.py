"""One subject's study drawn on a time axis: each visit's window, target and status against today.

The checklist beside it lists the visits; the timeline shows at a glance where the subject is,
what is late and how the windows sit. Status is never colour alone: every visit carries its
status symbol, and a visit done outside its window a hatched band and "!" (design.md).

The widget paints itself and scrolls with its own scroll bar (no QScrollArea), so the hit boxes
``drawn_visits`` returns are in the coordinates the user (and a test) clicks in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollBar, QSizePolicy, QToolButton, QToolTip, QWidget

from coordinator import dates
from coordinator.dates import display
from coordinator.service import TimelineVisit
from coordinator.ui.status import OUT_OF_WINDOW, visit_look

DEFAULT_PX_PER_DAY = 6.0  # cycle 1's weekly visits sit 42 px apart and their codes fit in two rows
MAX_PX_PER_DAY = 48.0
ZOOM_STEP = 1.25
MARGIN_DAYS = 3
LANES = 2  # overlapping windows (a survival and a progression follow-up) sit one above the other
LABEL_ROWS = 2  # a code that fits in neither row is left out; hovering still names the visit
LEGEND = ("done", "due", "overdue", "missed", "planned", "cancelled")
Role = QPalette.ColorRole


@dataclass(frozen=True)
class _Drawn:
    """One visit laid out in content coordinates (x from the start of the axis, y from the chart top)."""

    tv: TimelineVisit
    box: QRectF  # the hit box: the window band and the marker, one lane high
    band: QRectF
    marker: float  # x of the actual date (done) or of the target
    tick: float  # x of the target
    label: QPointF | None  # where the code is written; None when it would collide


class TimelineWidget(QWidget):
    """A horizontally scrollable, zoomable drawing of a subject's visits.

    Keys: Left/Right move to the previous/next visit (as a click does), +/- zoom, 0 fits all.

    Signals:
        visit_clicked(str): the code of the visit the user clicked or moved to (e.g. "C1D8").
        zoom_changed(float): the user zoomed (pixels per day; 0 = fit all), to be remembered.
    """

    visit_clicked = Signal(str)
    zoom_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._visits: list[TimelineVisit] = []
        self._today = self._origin = dt.date.today()
        self._span_days = 1
        self._zoom = DEFAULT_PX_PER_DAY  # 0 is "fit all": the scale never leaves the width unfilled
        self._drawn: list[_Drawn] = []
        self._selected: str | None = None
        self._follow_today = False  # until the user scrolls, a resize keeps today in view
        self._build_ui()
        self._connect_signals()

    def _build_ui(self) -> None:
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._header = QWidget(self)
        row = QHBoxLayout(self._header)
        row.setContentsMargins(4, 2, 4, 2)
        legend = [f'<span style="color:{visit_look(s).colour}">{visit_look(s).symbol}</span> {s}' for s in LEGEND]
        legend += [f"<b>{OUT_OF_WINDOW}</b> out of window (hatched)", "◇ unscheduled", "│ today"]
        key = QLabel("&nbsp;&nbsp; ".join(legend))
        key.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # on a narrow screen the key is cut, not the zoom
        key.setToolTip("\n".join(visit_look(s).text for s in LEGEND) + f"\n{OUT_OF_WINDOW} out of window (hatched)")
        row.addWidget(key, 1)
        self._zoom_out, self._zoom_in, self._fit = QToolButton(), QToolButton(), QToolButton()
        for button, text, tip in ((self._zoom_out, "−", "Zoom out (-, Ctrl+wheel)"),
                                  (self._zoom_in, "+", "Zoom in (+, Ctrl+wheel)"),
                                  (self._fit, "Fit all", "Show the whole study (0)")):
            button.setText(text)
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            row.addWidget(button)
        self._scrollbar = QScrollBar(Qt.Orientation.Horizontal, self)
        # Every size below comes from the font, so the drawing grows with the user's font and DPI.
        fm = QFontMetricsF(self.font())
        self._h, self._lane_h = fm.height(), round(fm.height() * 1.4)
        self._pad = fm.horizontalAdvance("C10D22")  # room for a code centred on the first or last day
        self._top = self._header.sizeHint().height()
        self._labels_y = self._h + 4 + LANES * self._lane_h
        self._axis_y = self._labels_y + LABEL_ROWS * self._h + 3
        self._chart_h = round(self._axis_y + self._h + 8)
        self.setFixedHeight(self._top + self._chart_h + self._scrollbar.sizeHint().height())

    def _connect_signals(self) -> None:
        self._zoom_in.clicked.connect(self._on_zoom_in_clicked)
        self._zoom_out.clicked.connect(self._on_zoom_out_clicked)
        self._fit.clicked.connect(self._on_fit_clicked)
        self._scrollbar.valueChanged.connect(self.update)
        self._scrollbar.sliderMoved.connect(self._on_scrollbar_slider_moved)

    # -- the API -------------------------------------------------------------------------------
    def set_timeline(self, visits: list[TimelineVisit], today: dt.date) -> None:
        """Show these visits as of ``today`` and scroll today into view; zoom and selection stay."""
        self._visits, self._today = list(visits), today
        dates = [d for tv in visits for d in (tv.visit.window_start, tv.visit.window_end, tv.visit.date) if d]
        self._origin = min(dates + [today]) - dt.timedelta(days=MARGIN_DAYS)
        self._span_days = (max(dates + [today]) - self._origin).days + 1 + MARGIN_DAYS
        self._layout()
        self._follow_today = True
        self._show_x(self._x(today))

    def select_visit(self, code: str | None) -> None:
        """Highlight the visit the checklist shows, and scroll it into view."""
        self._selected = code
        item = next((d for d in self._drawn if d.tv.visit.code == code), None)
        if item is not None:
            self._follow_today = False
            self._show_x(item.box.center().x())
        self.update()

    def drawn_visits(self) -> list[tuple[str, QRectF]]:
        """The visits as drawn, left to right, with their hit boxes in this widget's coordinates
        (at the current scroll: a box may lie outside the widget)."""
        return [(d.tv.visit.code, self._to_widget(d.box)) for d in self._drawn]

    # -- geometry ------------------------------------------------------------------------------
    def _scale(self) -> float:
        """Pixels per day: the zoom chosen, but never so small that the study leaves the width unfilled."""
        return min(MAX_PX_PER_DAY, max(self._zoom, (self.width() - 2 * self._pad) / self._span_days))

    def _x(self, day: dt.date) -> float:
        """Content x of the middle of ``day``."""
        return self._pad + ((day - self._origin).days + 0.5) * self._scale()

    def _to_widget(self, rect: QRectF) -> QRectF:
        return rect.translated(-self._scrollbar.value(), self._top)

    def _layout(self) -> None:
        """Place every visit: a lane for its band and marker (lane 0, lowest, unless that would
        overlap), and a row for its code (or none)."""
        ppd, fm = self._scale(), QFontMetricsF(self.font())
        half, bang = fm.height() / 2, fm.horizontalAdvance(OUT_OF_WINDOW) + 2
        band_end, marker_end, row_end = [float("-inf")] * LANES, [float("-inf")] * LANES, [float("-inf")] * LABEL_ROWS
        self._drawn = []
        for tv in sorted(self._visits, key=lambda t: (_marker_date(t), t.visit.window_start)):
            v = tv.visit
            x0, marker = self._x(v.window_start) - ppd / 2, self._x(_marker_date(tv))
            x1 = x0 + ((v.window_end - v.window_start).days + 1) * ppd
            reach = marker + half + (bang if v.out_of_window else 0)
            # A marker may overlap the end of the band before it (C1D1 right after screening), never its marker.
            free = [i for i in range(LANES) if x0 + 0.5 >= max(band_end[i], marker_end[i]) and marker - half > marker_end[i]]
            lane = free[0] if free else marker_end.index(min(marker_end))
            band_end[lane], marker_end[lane] = max(band_end[lane], x1), max(marker_end[lane], reach)
            y = self._h + 4 + (LANES - 1 - lane) * self._lane_h
            width = fm.horizontalAdvance(v.code)
            row = next((i for i in range(LABEL_ROWS) if row_end[i] + fm.averageCharWidth() <= marker - width / 2), None)
            label = None
            if row is not None:
                row_end[row] = marker + width / 2
                label = QPointF(marker - width / 2, self._labels_y + (row + 1) * self._h - fm.descent())
            left = min(x0, marker - half)
            self._drawn.append(_Drawn(tv, QRectF(left, y, max(x1, reach) - left, self._lane_h),
                                      QRectF(x0 + 0.5, y + self._lane_h * 0.2, max(1.0, x1 - x0 - 1), self._lane_h * 0.6),
                                      marker, self._x(v.target), label))
        self._scrollbar.setRange(0, max(0, round(self._span_days * ppd + 2 * self._pad - self.width())))
        self._scrollbar.setPageStep(max(1, self.width()))
        self._scrollbar.setSingleStep(max(1, round(7 * ppd)))
        self.update()

    def _show_x(self, x: float) -> None:
        """Scroll the content x into view, a third in from the left, unless it is in view already."""
        left = self._scrollbar.value()
        if not left + 20 <= x <= left + self.width() - 20:
            self._scrollbar.setValue(round(x - self.width() / 3))

    def _item_at(self, pos) -> _Drawn | None:
        return next((d for d in reversed(self._drawn) if self._to_widget(d.box).contains(QPointF(pos))), None)

    def _set_zoom(self, zoom: float, anchor_x: float | None = None) -> None:
        """Zoom keeping the day under ``anchor_x`` (widget x; the middle by default) where it is."""
        anchor_x = self.width() / 2 if anchor_x is None else anchor_x
        days = (self._scrollbar.value() + anchor_x - self._pad) / self._scale()
        self._zoom, self._follow_today = zoom, False
        self._layout()
        self._scrollbar.setValue(round(self._pad + days * self._scale() - anchor_x))
        self.zoom_changed.emit(zoom)

    @property
    def zoom(self) -> float:
        return self._zoom

    def set_zoom(self, zoom: float) -> None:
        """A remembered zoom (pixels per day, 0 = fit all), applied without a signal."""
        self._zoom = min(MAX_PX_PER_DAY, max(0.0, zoom))
        self._layout()
        self.update()

    def _step(self, step: int) -> None:
        """Select the visit ``step`` places right (or left) of the selected one, as a click would."""
        codes = [d.tv.visit.code for d in self._drawn]
        if codes:
            at = codes.index(self._selected) + step if self._selected in codes else 0
            self.select_visit(codes[max(0, min(len(codes) - 1, at))])
            self.visit_clicked.emit(self._selected)

    # -- handlers ------------------------------------------------------------------------------
    def _on_zoom_in_clicked(self) -> None:
        self._set_zoom(min(MAX_PX_PER_DAY, self._scale() * ZOOM_STEP))

    def _on_zoom_out_clicked(self) -> None:
        self._set_zoom(self._scale() / ZOOM_STEP)

    def _on_fit_clicked(self) -> None:
        self._set_zoom(0.0)

    def _on_scrollbar_slider_moved(self, _value: int) -> None:
        self._follow_today = False

    # -- Qt overrides --------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        self._header.setGeometry(0, 0, self.width(), self._top)
        bar = self._scrollbar.sizeHint().height()
        self._scrollbar.setGeometry(0, self.height() - bar, self.width(), bar)
        self._layout()
        if self._follow_today:
            self._show_x(self._x(self._today))

    def mousePressEvent(self, event) -> None:
        item = self._item_at(event.position().toPoint())
        if event.button() == Qt.MouseButton.LeftButton and item is not None:
            self.select_visit(item.tv.visit.code)
            self.visit_clicked.emit(item.tv.visit.code)

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self._set_zoom(self._scale() * (ZOOM_STEP if delta > 0 else 1 / ZOOM_STEP), event.position().x())
        else:  # a plain wheel scrolls along the time axis: there is nothing to scroll vertically
            self._follow_today = False
            self._scrollbar.setValue(self._scrollbar.value() - delta)
        event.accept()

    def keyPressEvent(self, event) -> None:
        actions = {Qt.Key.Key_Plus: self._on_zoom_in_clicked, Qt.Key.Key_Equal: self._on_zoom_in_clicked,
                   Qt.Key.Key_Minus: self._on_zoom_out_clicked, Qt.Key.Key_0: self._on_fit_clicked,
                   Qt.Key.Key_Left: lambda: self._step(-1), Qt.Key.Key_Right: lambda: self._step(1)}
        action = actions.get(event.key())
        if action is None:
            super().keyPressEvent(event)
        else:
            action()

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            item = self._item_at(event.pos())
            if item is None:
                QToolTip.hideText()
            else:
                QToolTip.showText(event.globalPos(), visit_tooltip(item.tv), self, self._to_widget(item.box).toRect())
            return True
        return super().event(event)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(Role.Base))
        p.setClipRect(QRectF(0, self._top, self.width(), self._chart_h))
        p.translate(-self._scrollbar.value(), self._top)
        if self._visits:
            self._paint_months(p, pal)
            self._paint_today(p, pal, self._paint_phases(p, pal))
            self._paint_visits(p, pal)

    # -- painting ------------------------------------------------------------------------------
    def _paint_phases(self, p: QPainter, pal: QPalette) -> list[QRectF]:
        """SCR, C1, C2 ... EOT, follow-up: alternate shading, a line at each start and the name
        where it fits (returned, so that the today label can avoid them)."""
        fm, half, gap = QFontMetricsF(self.font()), self._scale() / 2, QFontMetricsF(self.font()).averageCharWidth()
        phases = [(name, self._x(start) - half, self._x(end) + half) for name, start, end in _phases(self._visits)]
        for i, (_name, x0, x1) in enumerate(phases):
            if i % 2:
                p.fillRect(QRectF(x0, 0, x1 - x0, self._labels_y), pal.color(Role.AlternateBase))
        p.setPen(QPen(pal.color(Role.Mid), 1))
        for _name, x0, _x1 in phases:
            p.drawLine(QPointF(x0, 0), QPointF(x0, self._labels_y))
        names: list[QRectF] = []
        p.setPen(pal.color(Role.Text))
        # SCR, EOT and follow-up are named first: where names would collide, a cycle's gives way.
        for name, x0, x1 in sorted(phases, key=lambda phase: phase[0].startswith("C")):
            # The name of the phase at the left edge stays in view while the phase is.
            left = max(x0 + 3, min(self._scrollbar.value() + 3, x1 - fm.horizontalAdvance(name) - 3))
            box = QRectF(left, 0, fm.horizontalAdvance(name), fm.height())
            hit = [other.right() for other in names if box.adjusted(-gap, 0, gap, 0).intersects(other)]
            if hit:  # a long phase (follow-up) can move its name right, past the one in the way
                box.moveLeft(max(hit) + gap)
            if (not hit or box.right() <= x1) and not any(box.adjusted(-gap, 0, gap, 0).intersects(o) for o in names):
                p.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
                names.append(box)
        return names

    def _paint_months(self, p: QPainter, pal: QPalette) -> None:
        """The axis under the codes: a tick each month (and week, when there is room), a name every
        1, 2, 3, 6 or 12 months as room allows; the month at the left edge stays named, with its year."""
        fm, y, ppd = QFontMetricsF(self.font()), self._axis_y, self._scale()
        step = next((s for s in (1, 2, 3, 6, 12) if s * 30.44 * ppd >= fm.horizontalAdvance("Sep 2025 ")), 12)
        end = self._origin + dt.timedelta(days=self._span_days)
        p.setPen(QPen(pal.color(Role.Mid), 1))
        p.drawLine(QPointF(0, y), QPointF(self._span_days * ppd + 2 * self._pad, y))
        if ppd >= 3:  # a small tick each Monday
            monday = self._origin + dt.timedelta(days=-self._origin.weekday() % 7)
            for x in (self._x(monday + dt.timedelta(days=i)) - ppd / 2 for i in range(0, (end - monday).days, 7)):
                p.drawLine(QPointF(x, y), QPointF(x, y + 2))
        named, day = [], dt.date(self._origin.year, self._origin.month, 1)
        while day <= end:
            x, is_named = self._x(day) - ppd / 2, (day.month - 1) % step == 0
            p.setPen(QPen(pal.color(Role.Text if is_named else Role.Mid), 1))
            p.drawLine(QPointF(x, y), QPointF(x, y + (5 if is_named else 3)))
            named += [(x, day)] if is_named else []
            day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        view = self._scrollbar.value() + 2
        p.setPen(pal.color(Role.Text))
        for i, (x, day) in enumerate(named):
            after = named[i + 1][0] if i + 1 < len(named) else float("inf")
            first = i == 0 or x <= view < after
            month = dates.month(day)
            text = f"{month} {day.year}" if first or day.month == 1 else month
            p.drawText(QPointF(max(x + 2, min(view, after - fm.horizontalAdvance(text) - 6)), y + 3 + fm.ascent()), text)

    def _paint_today(self, p: QPainter, pal: QPalette, names: list[QRectF]) -> None:
        """A line at today, under the markers, labelled on its right (or its left, if a phase name is there)."""
        fm, x = QFontMetricsF(self.font()), self._x(self._today)
        p.setPen(QPen(pal.color(Role.Text), 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, self._axis_y))
        box = QRectF(x + 2, 0, fm.horizontalAdvance("today") + 4, fm.height())
        if any(box.intersects(name) for name in names):
            box.moveRight(x - 2)
        p.fillRect(box, pal.color(Role.Base))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, "today")

    def _paint_visits(self, p: QPainter, pal: QPalette) -> None:
        """Bands and target ticks first, then the status symbols over them, then the codes."""
        for item in self._drawn:
            v, colour, mid = item.tv.visit, visit_look(item.tv.status).qcolor(), item.box.center().y()
            if v.kind == "unscheduled":
                continue
            fill = QColor(colour)
            fill.setAlpha(60)
            p.fillRect(item.band, fill)
            if v.out_of_window:
                p.fillRect(item.band, QBrush(colour, Qt.BrushStyle.BDiagPattern))
            p.setPen(QPen(colour, 1))
            p.drawRect(item.band)
            p.setPen(QPen(colour.darker(130), 2))
            p.drawLine(QPointF(item.tick, item.box.top() + 2), QPointF(item.tick, item.box.bottom() - 2))
            if item.marker != item.tick:  # done on another day than the target: join the two
                p.setPen(QPen(colour, 1, Qt.PenStyle.DotLine))
                p.drawLine(QPointF(item.tick, mid), QPointF(item.marker, mid))
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        r, ascent = QFontMetricsF(font).height() / 2, QFontMetricsF(font).ascent()
        p.setBrush(pal.color(Role.Base))
        for item in self._drawn:
            v, look, c = item.tv.visit, visit_look(item.tv.status), QPointF(item.marker, item.box.center().y())
            p.setPen(QPen(look.qcolor(), 1.2))
            if v.kind == "unscheduled":  # a diamond: on no schedule, so no window and no target
                s = r * 1.25
                p.drawPolygon(QPolygonF([c + QPointF(0, -s), c + QPointF(s, 0), c + QPointF(0, s), c + QPointF(-s, 0)]))
            else:
                p.drawEllipse(c, r, r)
            p.drawText(QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r), Qt.AlignmentFlag.AlignCenter, look.symbol)
            if v.out_of_window:
                p.drawText(QPointF(c.x() + r + 1, c.y() + ascent / 2 - 1), OUT_OF_WINDOW)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setFont(self.font())
        fm = QFontMetricsF(self.font())
        for item in self._drawn:
            if item.label is not None:  # on the base colour, so the today line does not strike it through
                p.fillRect(QRectF(item.label.x(), item.label.y() - fm.ascent(), fm.horizontalAdvance(item.tv.visit.code),
                                  fm.height()), pal.color(Role.Base))
                p.setPen(pal.color(Role.PlaceholderText if item.tv.status == "cancelled" else Role.Text))
                p.drawText(item.label, item.tv.visit.code)
            if item.tv.visit.code == self._selected:
                p.setPen(QPen(pal.color(Role.Highlight), 2))
                p.drawRoundedRect(item.box.adjusted(-2, 0, 2, 0), 4, 4)


def _marker_date(tv: TimelineVisit) -> dt.date:
    """Where the status symbol goes: the actual date of a done visit, else the target."""
    return tv.visit.date if tv.status == "done" and tv.visit.date else tv.visit.target


def _phases(visits: list[TimelineVisit]) -> list[tuple[str, dt.date, dt.date]]:
    """(name, first day, last day) of each phase: SCR, C1 ... Cn from each actual day 1, EOT, follow-up."""
    starts: dict[str, dt.date] = {}
    follow_up = dt.date.max
    for tv in visits:
        v = tv.visit
        if v.kind == "screening":
            starts["SCR"] = v.window_start
        elif v.kind == "cycle" and v.day == 1 and v.cancelled_from is None:  # not a cycle the last dose cancelled
            starts[f"C{v.cycle}"] = v.date or v.target
        elif v.kind == "eot":
            starts["EOT"], follow_up = v.window_start, (v.date or v.target) + dt.timedelta(days=1)
        elif v.kind == "follow_up":  # from the day after EOT, which the tracks count from
            starts["follow-up"] = min(follow_up, v.window_start)
    ordered = sorted(starts.items(), key=lambda item: item[1])
    last = max((tv.visit.window_end for tv in visits), default=dt.date.min)
    ends = [start - dt.timedelta(days=1) for _name, start in ordered[1:]] + [last]
    return [(name, start, end) for (name, start), end in zip(ordered, ends)]


def visit_tooltip(tv: TimelineVisit) -> str:
    """What hovering a visit tells: its name, target, window, status and actual date."""
    v, look = tv.visit, visit_look(tv.status)
    lines = [f"{v.code} · {v.label}"]
    if v.kind != "unscheduled":
        lines += [f"Target: {display(v.target, weekday=True)}",
                  f"Window: {display(v.window_start, weekday=True)} – {display(v.window_end, weekday=True)}"]
    lines.append(f"Status: {look.text}")
    if v.date is not None:
        late = f"   {OUT_OF_WINDOW} out of window" if v.out_of_window else ""
        lines.append(f"Visit date: {display(v.date, weekday=True)}{late}")
    if tv.status == "cancelled" and v.cancelled_from is not None:
        lines.append(f"Cancelled from {display(v.cancelled_from, weekday=True)}")
    return "\n".join(lines)
