"""One subject: who they are and where they stand, their timeline, their visits, and a visit's checklist.

The visit shown in the checklist is the one selected in the list and marked on
the timeline; Ctrl+Down / Ctrl+Up step through the visits.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QSignalBlocker, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QMenu, QPushButton, QSplitter, QTabWidget, QVBoxLayout,
    QWidget,
)

from coordinator.dates import display
from coordinator.errors import CoordinatorError
from coordinator.ui import access, action_dialogs, ask, settings
from coordinator.ui.checklist_view import ChecklistView
from coordinator.ui.history_table import HistoryTableModel
from coordinator.ui.session import Session
from coordinator.ui.subject_dialog import SubjectDialog
from coordinator.ui.subject_table import STATUS_WORDS
from coordinator.ui.table import list_view
from coordinator.ui.timeline_widget import TimelineWidget
from coordinator.ui.visit_table import VisitRow, VisitTableModel
from coordinator.ui.when_shown import WhenShown


class SubjectView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.service = session.service
        self.subject_id: str | None = None
        self.subject = None
        self.signatures: list = []  # the subject's sign-offs, read with it
        self._active = False
        self._last_timeline = None
        self._keep_tab = False  # set while a refresh re-selects the visit: the user stays on their tab
        self._build_actions()
        self._build_ui()
        self._connect_signals()
        self._show_nothing()

    # -- building ------------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        def action(text, handler, shortcut=None):
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(shortcut)
            a.triggered.connect(handler)
            return a
        self.edit_action = action("&Edit subject…", self._on_edit_triggered, "Ctrl+E")
        self.enroll_action = action("E&nroll (cycle 1 day 1)…", lambda: self._open(action_dialogs.EnrollDialog))
        self.record_action = action("&Record the visit", lambda: self.checklist.record_visit(), "Ctrl+R")
        self.missed_action = action("&Missed visit…", self._on_missed_requested)
        self.unscheduled_action = action("&Unscheduled visit…", self._on_unscheduled_requested, "Ctrl+U")
        self.sign_action = action("Sign &off the visit…", self._on_sign_requested)
        self.screen_fail_action = action("&Screen failure…", lambda: self._open(action_dialogs.ScreenFailDialog))
        self.end_action = action("End &treatment…", lambda: self._open(action_dialogs.EndTreatmentDialog))
        self.dose_action = action("Change &dose level…", lambda: self._open(action_dialogs.DoseDialog))
        self.steroid_action = action("S&teroid…", lambda: self._open(action_dialogs.SteroidDialog))
        self.requisition_action = action("Lab &requisition for this visit…", self._on_requisition_triggered, "Ctrl+Shift+R")
        self.dosing_action = action("&Dosing form for this cycle…", self._on_dosing_triggered, "Ctrl+Shift+D")
        self.event_actions = [action(f"{event.label}…", lambda _=False, k=kind: self._open(action_dialogs.EventDialog, k))
                              for kind, event in self.service.protocol.events.items()]
        # what changes the subject's facts: a role without 'subjects' (a monitor, an admin) only reads
        self.write_actions = [self.edit_action, self.enroll_action, self.record_action, self.missed_action,
                              self.unscheduled_action, self.screen_fail_action, self.end_action, self.dose_action,
                              self.steroid_action, *self.event_actions]
        self.print_actions = [self.requisition_action, self.dosing_action]
        self.subject_actions = [*self.write_actions, *self.print_actions, self.sign_action]

    def add_actions_to(self, menu: QMenu) -> None:
        menu.addActions([self.edit_action, self.enroll_action, self.record_action, self.missed_action,
                         self.unscheduled_action, self.sign_action])
        menu.addSeparator()
        menu.addActions([self.screen_fail_action, self.end_action, self.dose_action, self.steroid_action])
        menu.addMenu("E&vent").addActions(self.event_actions)
        menu.addSeparator()
        menu.addActions(self.print_actions)

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        top.addWidget(self.header, 1)
        buttons = [("Edit…", [self.edit_action]), ("Cycle 1 day 1…", [self.enroll_action]),
                   ("End treatment…", [self.end_action]),
                   ("Event ▾", [self.screen_fail_action, *self.event_actions]),
                   ("Dose ▾", [self.dose_action, self.steroid_action]),
                   ("Print ▾", self.print_actions)]
        for text, actions in buttons:
            button = QPushButton(text)
            if len(actions) == 1:
                button.clicked.connect(actions[0].trigger)
            else:
                menu = QMenu(button)
                menu.addActions(actions)
                button.setMenu(menu)
            _follow_actions(button, actions)
            top.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.timeline = TimelineWidget()
        self.timeline.set_zoom(settings.TIMELINE_ZOOM.get())
        layout.addWidget(self.timeline)
        self.splitter = QSplitter()
        self.visit_model = VisitTableModel(self)
        self.visits = list_view(self.visit_model, sort_column=None)  # in date order, as the timeline
        self.checklist = ChecklistView(self.session)
        self.history_model = HistoryTableModel(self)
        self.history = list_view(self.history_model, sort_column=None)  # newest first
        self.tabs = QTabWidget()
        self.tabs.addTab(self.checklist, "Visit checklist")
        self.tabs.addTab(self.history, "History (audit trail)")
        self.splitter.addWidget(self.visits)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([560, 900])
        state = settings.SUBJECT_SPLITTER.get()
        if not state.isEmpty():
            self.splitter.restoreState(state)
        layout.addWidget(self.splitter, 1)

    def _connect_signals(self) -> None:
        self.visits.selectionModel().currentRowChanged.connect(self._on_visits_current_row_changed)
        self.timeline.visit_clicked.connect(self.select_visit)
        self.timeline.zoom_changed.connect(settings.TIMELINE_ZOOM.set)
        self.checklist.missed_requested.connect(self._on_missed_requested)
        self.checklist.unscheduled_requested.connect(self._on_unscheduled_requested)
        self.checklist.sign_requested.connect(self._on_sign_requested)
        self.reloader = WhenShown(self, self.refresh)  # hidden, it reads the subject again when shown
        self.session.changed.connect(self._on_session_changed)
        self.session.day_changed.connect(self.reloader.request)  # and midnight: new defaults (the visit date)
        self.history_reader = WhenShown(self.history, self._load_history)

    def _load_history(self) -> None:
        """The audit trail is read when its tab is shown (``history_reader``), not on every tick."""
        if self.subject_id:
            self.history_model.set_rows(sorted(self.service.audit(self.subject_id), key=lambda r: -r.seq))
            self.history.resizeColumnsToContents()

    def save_layout(self) -> None:
        settings.SUBJECT_SPLITTER.set(self.splitter.saveState())

    # -- showing -------------------------------------------------------------------------------------
    def show_subject(self, subject_id: str, visit: str | None = None, quiet: bool = False) -> None:
        """Show the subject, at ``visit`` (its checklist) if given, else at the visit last shown
        or the one most likely wanted; a subject not in the database is an error (unless ``quiet``)."""
        try:
            timeline = self.service.timeline(subject_id, self.session.day)
        except CoordinatorError as exc:
            if not quiet:
                ask.error(self, str(exc))
            return
        if subject_id != self.subject_id:
            self.subject_id = subject_id
            self.visit_model.set_rows([])
        self._show_timeline(timeline, visit)
        if visit is not None:
            self.tabs.setCurrentWidget(self.checklist)

    def refresh(self, visit: str | None = None) -> None:
        """Read the subject again; the tab shown (the checklist or the history) stays."""
        if self.subject_id is not None:
            self._show_timeline(self.service.timeline(self.subject_id, self.session.day), visit)

    def _show_timeline(self, timeline, visit: str | None) -> None:
        self.reloader.stale = False
        day = self.session.day
        self.subject = timeline.subject  # read once: the visit list, the progress and the checklist use it
        self.signatures = self.service.signatures(self.subject_id)  # and the checklist's sign-offs: a signature shows at once
        visits = timeline.visits
        progress = self.service.progress(((self.subject_id, tv.visit.code) for tv in visits), subject=timeline.subject)
        rows = [VisitRow(tv, p.done, p.total) if (p := progress.get((self.subject_id, tv.visit.code))) else VisitRow(tv)
                for tv in visits]
        keep = visit or self.current_visit_code() or _visit_to_open(timeline.visits)
        with QSignalBlocker(self.visits.selectionModel()):
            self.visit_model.set_rows(rows)
        self.timeline.set_timeline(visits, day)
        self._show_header(timeline)
        self._last_timeline = timeline
        self.set_active(self._active)
        self.history_reader.request()
        self._keep_tab = True
        try:
            self._select_visit(keep)
        finally:
            self._keep_tab = False

    def set_active(self, active: bool) -> None:
        """The subject's actions (and their shortcuts) work only while this screen is shown."""
        self._active = active
        if self.subject is None or not active:
            for action in self.subject_actions:
                action.setEnabled(False)
        else:
            self._update_actions(self._last_timeline)

    def _show_nothing(self) -> None:
        self.header.setText("<i>No subject chosen: open one from the dashboard or the subject list (Ctrl+F).</i>")
        for action in self.subject_actions:
            action.setEnabled(False)

    def _show_header(self, timeline) -> None:
        s, protocol, day = timeline.subject, self.service.protocol, self.session.day
        age = day.year - s.birth_date.year - ((day.month, day.day) < (s.birth_date.month, s.birth_date.day))
        cbp = {True: " · FCBP", False: "", None: " · child-bearing potential not recorded"}[s.childbearing_potential]
        where = STATUS_WORDS.get(timeline.status, timeline.status)
        if timeline.cycle_day and timeline.status == "on_treatment":
            where += f": cycle {timeline.cycle_day[0]} day {timeline.cycle_day[1]}"
        cycle = timeline.cycle_day[0] if timeline.cycle_day else 1
        doses = []
        for drug in protocol.drugs:
            level = s.dose_level(drug.id, cycle)
            doses.append(f"{drug.name} {drug.dose_mg(level):g} mg (level {level})")
        if s.steroid and not s.steroid.given:
            doses.append("no steroid")
        elif s.steroid:
            name = protocol.steroids[s.steroid.drug].name if s.steroid.drug in protocol.steroids else s.steroid.drug
            doses.append(f"{name} {s.steroid.dose_mg:g} mg D{','.join(map(str, s.steroid.days))}")
        else:
            doses.append("steroid not chosen")
        planned = ""
        if s.c1d1 is None and s.planned_c1d1:
            planned = f" · C1D1 planned {display(s.planned_c1d1, weekday=True)}"
        elif timeline.status == "screening":  # its visit, and the pre-dose checklist, come with a planned day
            planned = " · first dose not planned yet: Edit… to plan it"
        self.header.setText(f"<span style='font-size:x-large'><b>{s.id}</b> {s.initials}</span> &nbsp; "
                            f"{s.sex} {age}y{cbp} &nbsp; <b>{where}</b>{planned}<br>{' · '.join(doses)}")

    def _update_actions(self, timeline) -> None:
        s = timeline.subject
        started = s.c1d1 is not None
        ended = timeline.status in ("off_study", "screen_failed")
        for action in self.subject_actions:
            action.setEnabled(True)
        self.enroll_action.setEnabled(s.screen_failure_date is None)
        self.screen_fail_action.setEnabled(not started)
        self.end_action.setEnabled(started)
        self.dose_action.setEnabled(not ended)
        access.restrict(self.service, "subjects", *self.write_actions)
        access.restrict(self.service, "print", *self.print_actions)
        self._update_sign_action()

    def _update_sign_action(self) -> None:
        """Signing follows the visit shown: recorded, and an investigator logged in."""
        self.sign_action.setEnabled(self._active and self.subject is not None and self.checklist.can_sign()[0])

    # -- visits --------------------------------------------------------------------------------------------
    def current_visit_code(self) -> str | None:
        index = self.visits.currentIndex()
        return self.visit_model.row(index).code if index.isValid() else None

    def select_visit(self, code: str | None) -> None:
        """The user picks a visit (the timeline, a new unscheduled visit): its checklist is shown."""
        self._select_visit(code)
        self.tabs.setCurrentWidget(self.checklist)

    def _select_visit(self, code: str | None) -> None:
        row = self.visit_model.index_of(code) if code else -1
        if row < 0:
            self.checklist.show_visit(self.subject_id, None)
            self.timeline.select_visit(None)
            self._update_sign_action()
            return
        index = self.visit_model.index(row, 0)
        moved = self.visits.currentIndex().row() != row
        self.visits.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.visits.scrollTo(index)
        if not moved:  # else the list's currentRowChanged has shown it already
            self._show_visit(row)

    def step_visit(self, delta: int) -> None:
        if not self.visit_model.rowCount():
            return
        row = self.visits.currentIndex().row()
        row = 0 if row < 0 else min(max(row + delta, 0), self.visit_model.rowCount() - 1)
        self.select_visit(self.visit_model.rows()[row].code)

    def _on_visits_current_row_changed(self, current, _previous) -> None:
        if current.isValid():
            self._show_visit(current.row())
            if not self._keep_tab:  # the user moved in the list
                self.tabs.setCurrentWidget(self.checklist)

    def _show_visit(self, row: int) -> None:
        visit = self.visit_model.rows()[row].visit
        self.timeline.select_visit(visit.visit.code)
        self.checklist.show_visit(self.subject_id, visit, self.subject, self.signatures)  # as the timeline just read them
        self._update_sign_action()

    # -- actions ---------------------------------------------------------------------------------------------
    def _open(self, dialog_class, *args):
        if self.subject is None:
            return None
        # read afresh: another window or workstation may have changed it since it was shown, and a
        # dialog started from what is shown would write back the older values
        dialog = dialog_class(self.session, self.service.subject(self.subject_id), *args, parent=self)
        dialog.exec()
        return dialog

    # -- forms -------------------------------------------------------------------------------------------------
    def _on_requisition_triggered(self) -> None:
        from coordinator.ui import form_preview  # pypdfium2 and Qt printing load when first used
        code = self.current_visit_code()
        if code:
            form_preview.requisition(self, self.session, self.subject_id, code)

    def _on_dosing_triggered(self) -> None:
        from coordinator.ui import form_preview
        row = self.visits.currentIndex()
        visit = self.visit_model.row(row).visit.visit if row.isValid() else None
        timeline = self._last_timeline
        cycle = visit.cycle if visit is not None and visit.kind == "cycle" else (
            timeline.cycle_day[0] if timeline is not None and timeline.cycle_day else 1)
        form_preview.dosing(self, self.session, self.subject_id, cycle)

    def _on_edit_triggered(self) -> None:
        self._open(SubjectDialog)

    def _on_missed_requested(self) -> None:
        code = self.current_visit_code()
        if code:
            self._open(action_dialogs.MissedVisitDialog, code)

    def _on_sign_requested(self) -> None:
        if self.subject_id is None or not self.checklist.can_sign()[0]:
            return
        from coordinator.ui.sign_dialog import SignDialog
        SignDialog(self.session, self.subject_id, self.checklist.visit.visit, self).exec()

    def _on_unscheduled_requested(self) -> None:
        dialog = self._open(action_dialogs.UnscheduledDialog)
        if dialog is not None and dialog.code:
            self.select_visit(dialog.code)

    def _on_session_changed(self, change) -> None:
        # an account added, disabled or enabled: who may sign off the visits shown
        if self.subject_id in change.subject_ids or change.action.startswith("account_"):
            self.reloader.request()


def _follow_actions(button: QPushButton, actions: list[QAction]) -> None:
    """The button is enabled while any of its actions is (they are off for a role that may not)."""
    def update(_enabled: bool = False) -> None:
        button.setEnabled(any(a.isEnabled() for a in actions))
    for action in actions:
        action.enabledChanged.connect(update)
    update()


def _visit_to_open(visits) -> str | None:
    """The visit a coordinator most likely wants: the first overdue or due, else the next planned,
    else the last one done."""
    for wanted in (("overdue", "due"), ("planned",), ("done",)):
        matching = [tv.visit.code for tv in visits if tv.status in wanted]
        if matching:
            return matching[-1] if wanted == ("done",) else matching[0]
    return None
