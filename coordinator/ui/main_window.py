"""The main window: the day's dashboard, the registry and one subject, with menus and shortcuts.

Layout after design.md: a header with the study and the day being looked at, a
navigation list on the left, the screens in a stack, and a status bar with the
database file, the enrollment count and who is logged in (``access.who``).

What the role may not do is greyed out (``access.restrict``); where someone logged
in, the window locks itself after a spell without input, or on Ctrl+L (``lock``).
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

import PySide6
from PySide6.QtCore import QSignalBlocker, Qt, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QMainWindow, QPushButton, QStackedWidget, QToolButton, QVBoxLayout, QWidget,
)

from coordinator import __version__
from coordinator.protocol import Protocol
from coordinator.service import Change
from coordinator.ui import access, ask, settings
from coordinator.ui.due_view import DueView
from coordinator.ui.fields import DateEdit
from coordinator.ui.lock import WindowLock
from coordinator.ui.backups import BackupKeeper
from coordinator.ui.session import Session

VIEWS = ("today", "subjects", "subject", "audit")


class MainWindow(QMainWindow):
    def __init__(self, session: Session, open_window=None):
        super().__init__()
        self.session = session
        self.service = session.service
        self._open_window = open_window  # app.open_window: File > Open starts a new window on another file
        self.backups = BackupKeeper(session, self)  # automatic backups, hourly and on closing
        self._build_ui()
        self._build_menus()
        self.window_lock = WindowLock(self, self.service, keep=(self.quit_action,))  # the content and a lock screen
        self._connect_signals()
        self._restore()
        self._apply_access()
        self._refresh_status()

    # -- building ------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        protocol = self.service.protocol
        self.setWindowTitle(f"Coordinator · {protocol.code}")  # never a subject's name or id (design.md)
        self.resize(1280, 820)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 0)

        header = QHBoxLayout()
        study = QLabel(f"<b>Study {protocol.code}</b> · {protocol.short_title}")
        study.setTextFormat(Qt.TextFormat.RichText)
        header.addWidget(study, 1)
        self.previous_day = QToolButton(text="◀")
        self.previous_day.setToolTip("Previous day (Alt+Left)")
        self.day_edit = DateEdit(self.session.day)
        self.day_edit.setToolTip("The day the dashboard and timelines look at")
        self.next_day = QToolButton(text="▶")
        self.next_day.setToolTip("Next day (Alt+Right)")
        self.today_button = QPushButton("Today")
        self.today_button.setToolTip("Back to today (Ctrl+T)")
        for widget in (self.previous_day, self.day_edit, self.next_day, self.today_button):
            header.addWidget(widget)
        header.addSpacing(16)
        self.user_label = QLabel()  # who is logged in: _apply_access
        header.addWidget(self.user_label)
        outer.addLayout(header)

        body = QHBoxLayout()
        self.nav = QListWidget()
        self.nav.addItems(["Today", "Subjects", "Subject", "Audit trail"])
        self.nav.setFixedWidth(self.nav.sizeHintForColumn(0) + 24)
        self.stack = QStackedWidget()
        self.due_view = DueView(self.session)
        self.stack.addWidget(self.due_view)
        # The registry and the subject screen are built when first shown: the window is up sooner.
        self._screens: dict[str, QWidget] = {"today": self.due_view}
        for _name in VIEWS[1:]:
            self.stack.addWidget(QWidget())
        body.addWidget(self.nav)
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)

        self.status_db = QLabel(f"{self.session.path.name}  ·  {self.session.path.parent}")
        self.status_db.setToolTip(str(self.session.path))
        self.status_enrolled = QLabel()
        self.status_user = QLabel()
        for label in (self.status_db, self.status_enrolled, self.status_user):
            self.statusBar().addWidget(label)

    def _action(self, menu, text: str, handler, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(handler)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open database…", self._on_open_triggered, QKeySequence.StandardKey.Open)
        self._action(file_menu, "&New study database…", self._on_new_triggered)
        file_menu.addSeparator()
        self.import_action = self._action(file_menu, "&Import subjects…", self._on_import_triggered)
        self.export_action = self._action(file_menu, "&Export subjects…", self._on_export_triggered)
        file_menu.addSeparator()
        self.backup_action = self._action(file_menu, "Back &up now…", lambda: self.backups.back_up_now(self),
                                          tip="A checked copy of the study database (safe while it is in use)")
        self.restore_action = self._action(file_menu, "&Restore from a backup…", self._on_restore_triggered,
                                           tip="Replace the study's content with a backup (the current one is backed up first)")
        file_menu.addSeparator()
        self.print_action = self._action(file_menu, "&Print…", self._on_print_triggered, QKeySequence.StandardKey.Print,
                                         "Print the day's due list, or the open visit's checklist")
        self.packet_action = self._action(file_menu, "Print the day's &packet…", self.due_view.print_day, "Ctrl+Shift+P",
                                          "Every requisition due on the day looked at, and each day 1's dosing form")
        file_menu.addSeparator()
        self.lock_action = self._action(file_menu, "&Lock now", lambda: self.window_lock.lock(), "Ctrl+L",
                                        "Hide everything until your password is given again (where the database has accounts)")
        self.my_password_action = self._action(file_menu, "Change my pass&word…", self._on_my_password_triggered)
        self.accounts_action = self._action(file_menu, "&Accounts…", self._on_accounts_triggered,
                                            tip="Add accounts, disable or enable them, set passwords (administrators)")
        self._action(file_menu, "P&references…", self._on_preferences_triggered, QKeySequence.StandardKey.Preferences,
                     "When the window locks itself")
        file_menu.addSeparator()
        self.quit_action = self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        go = bar.addMenu("&Go")
        self._action(go, "&Today", self._on_today_triggered, "Ctrl+T", "Dashboard for today")
        self._action(go, "&Find subject…", self._on_find_triggered, QKeySequence.StandardKey.Find,
                     "Type part of a subject id or initials")
        self._action(go, "&Subject", lambda: self.show_view("subject"), "Ctrl+3")
        self._action(go, "&Audit trail", lambda: self.show_view("audit"), "Ctrl+4",
                     "Every change, print, export and log-in, with filters, CSV export and a check of its hash chain")
        go.addSeparator()
        self._action(go, "&Next visit", lambda: self._step_visit(1), "Ctrl+Down")
        self._action(go, "&Previous visit", lambda: self._step_visit(-1), "Ctrl+Up")
        self._action(go, "Previous day", lambda: self._step_day(-1), "Alt+Left")
        self._action(go, "Next day", lambda: self._step_day(1), "Alt+Right")

        self.subject_menu = bar.addMenu("&Subject")
        self.add_subject_action = self._action(self.subject_menu, "&Add subject…", self._on_add_subject_triggered,
                                               QKeySequence.StandardKey.New)
        self.subject_menu.addSeparator()  # the subject screen adds its actions here when it is built

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self._on_shortcuts_triggered, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&About Coordinator", self._on_about_triggered)

    def _connect_signals(self) -> None:
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.currentRowChanged.connect(self._on_nav_current_row_changed)
        self.day_edit.dateChanged.connect(self._on_day_edit_date_changed)
        self.previous_day.clicked.connect(lambda: self._step_day(-1))
        self.next_day.clicked.connect(lambda: self._step_day(1))
        self.today_button.clicked.connect(self._on_today_triggered)
        self.session.day_changed.connect(self._on_session_day_changed)
        self.session.changed.connect(self._on_session_changed)
        self.due_view.open_visit.connect(self.open_subject)
        self.backups.backed_up.connect(lambda text: self.statusBar().showMessage(text, 15000))

    def _restore(self) -> None:
        geometry = settings.GEOMETRY.get()
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        view = settings.LAST_VIEW.get()
        last_subject = settings.LAST_SUBJECT.get()
        if view == "subject" and last_subject:
            self.subject_view.show_subject(last_subject, quiet=True)  # gone from this database: nothing shown
            if not self.subject_view.subject_id:
                view = "today"
        self.show_view(view if view in VIEWS else "today")

    # -- the screens built on first use -------------------------------------------------------------
    @property
    def subjects_view(self):
        if "subjects" not in self._screens:
            from coordinator.ui.subjects_view import SubjectsView
            view = SubjectsView(self.session)
            view.open_subject.connect(self.open_subject)
            view.add_subject.connect(self._on_add_subject_triggered)
            access.restrict(self.service, "subjects", view.add_button)
            self._install("subjects", view)
        return self._screens["subjects"]

    @property
    def subject_view(self):
        if "subject" not in self._screens:
            from coordinator.ui.subject_view import SubjectView
            view = SubjectView(self.session)
            view.add_actions_to(self.subject_menu)
            self._install("subject", view)
            view.set_active(self.nav.currentRow() == VIEWS.index("subject"))
        return self._screens["subject"]

    @property
    def audit_view(self):
        if "audit" not in self._screens:
            from coordinator.ui.audit_view import AuditView
            view = AuditView(self.session)
            view.open_subject.connect(self.open_subject)
            self._install("audit", view)
        return self._screens["audit"]

    def _install(self, name: str, view: QWidget) -> None:
        index = VIEWS.index(name)
        placeholder = self.stack.widget(index)
        self._screens[name] = view
        self.stack.insertWidget(index, view)
        self.stack.removeWidget(placeholder)
        placeholder.deleteLater()
        self.stack.setCurrentIndex(self.nav.currentRow())

    # -- navigation ----------------------------------------------------------------------------------
    def show_view(self, name: str) -> None:
        self.nav.setCurrentRow(VIEWS.index(name))

    def open_subject(self, subject_id: str, visit: str | None = None) -> None:
        self.subject_view.show_subject(subject_id, visit)
        self.show_view("subject")

    def _step_visit(self, delta: int) -> None:
        if "subject" in self._screens and self.stack.currentWidget() is self.subject_view:
            self.subject_view.step_visit(delta)

    def _step_day(self, days: int) -> None:
        self.session.set_day(self.session.day + dt.timedelta(days=days))

    def _on_nav_current_row_changed(self, row: int) -> None:
        """A screen is built when first shown; shown, it reads what it has not read (``WhenShown``)."""
        if VIEWS[row] == "subjects":
            self.subjects_view  # noqa: B018  (built on first use)
        if VIEWS[row] == "audit":
            self.audit_view  # noqa: B018
        if VIEWS[row] == "subject" or "subject" in self._screens:
            self.subject_view.set_active(VIEWS[row] == "subject")

    def _on_today_triggered(self) -> None:
        self.session.set_day(self.service.today)
        self.show_view("today")

    def _on_find_triggered(self) -> None:
        self.show_view("subjects")
        self.subjects_view.focus_search()

    def _on_day_edit_date_changed(self) -> None:
        day = self.day_edit.value()
        if day is not None:
            self.session.set_day(day)

    def _on_session_day_changed(self, day: dt.date) -> None:
        with QSignalBlocker(self.day_edit):
            self.day_edit.set_value(day)
        self.today_button.setEnabled(day != self.service.today)

    def _refresh_status(self) -> None:
        self.status_enrolled.setText(f"·  {self.service.enrolled_count()} of {self.service.protocol.enrollment_cap} enrolled")
        self.today_button.setEnabled(self.session.day != self.service.today)

    def _apply_access(self) -> None:
        """Who is at the desk, in the header and the status bar; what their role may not do greyed out
        (the service refuses it anyway); the lock, where there is a password to unlock with."""
        service = self.service
        self.user_label.setText(f"User: {access.who(service, rich=True)}")
        self.status_user.setText(f"·  {access.who(service)}")
        access.restrict(service, "subjects", self.add_subject_action)
        access.restrict(service, "import", self.import_action)
        access.restrict(service, "export", self.export_action)
        access.restrict(service, "print", self.print_action, self.packet_action, self.due_view.print_day_button)
        access.restrict(service, "accounts", self.accounts_action)
        access.restrict(service, "backup", self.backup_action)
        access.restrict(service, "restore", self.restore_action)
        if "subjects" in self._screens:
            access.restrict(service, "subjects", self.subjects_view.add_button)
        self.lock_action.setEnabled(self.window_lock.available)
        self.my_password_action.setEnabled(service.account is not None)
        self.window_lock.set_minutes(settings.LOCK_MINUTES.get())

    # -- actions -----------------------------------------------------------------------------------------
    def _on_session_changed(self, change) -> None:
        self._refresh_status()
        if change.action.startswith("account_"):  # the first account ends single-user mode, or one is disabled
            self._apply_access()

    def _on_accounts_triggered(self) -> None:
        from coordinator.ui.accounts_dialog import AccountsDialog
        AccountsDialog(self.session, self).exec()

    def _on_my_password_triggered(self) -> None:
        from coordinator.ui.accounts_dialog import SetPasswordDialog
        account = self.service.account
        if account is not None and SetPasswordDialog(self.session, account.name, self).exec():
            ask.info(self, "Your password is changed: use it from your next log-in.")

    def _on_preferences_triggered(self) -> None:
        from coordinator.ui.preferences_dialog import PreferencesDialog
        if PreferencesDialog(self.service, self).exec():
            self.window_lock.set_minutes(settings.LOCK_MINUTES.get())

    def _on_add_subject_triggered(self) -> None:
        from coordinator.ui.subject_dialog import SubjectDialog
        dialog = SubjectDialog(self.session, None, self)
        if dialog.exec() and dialog.change:
            self.open_subject(dialog.change.subject_ids[0])

    def _on_restore_triggered(self) -> None:
        self.backups.restore(self, self._reopen_after_restore)

    def _reopen_after_restore(self) -> None:
        path, reopen = self.session.path, self._open_window
        self.close()  # the restored study may have other accounts: log in to it afresh
        if reopen:
            reopen(path, None)

    def _on_open_triggered(self) -> None:
        name = ask.open_file(self, "Open a study database", str(self.session.path.parent),
                             "Coordinator databases (*.db);;All files (*)")
        if name and self._open_window and self._open_window(Path(name), self.service.user):
            self.close()

    def _on_new_triggered(self) -> None:
        name = ask.save_file(self, "New study database", str(self.session.path.parent / "study.db"),
                             "Coordinator databases (*.db)")
        if not name:
            return
        if Path(name).exists():
            ask.error(self, f"{name} already exists; choose a new file name.")
            return
        if self._open_window and self._open_window(Path(name), self.service.user, "new"):  # made as at first start
            self.close()

    def _on_import_triggered(self) -> None:
        name = ask.open_file(self, "Import subjects (coordinator-subjects/1 JSON)", "", "Subject files (*.json)")
        if not name:
            return
        self.statusBar().showMessage(f"Importing {Path(name).name}…")
        self.session.run_in_background(self, lambda service: service.import_file(name), self._on_import_done,
                                       self._on_import_failed)

    def _on_import_done(self, change) -> None:
        self.statusBar().clearMessage()
        self.session.notify(change)
        ask.info(self, f"Imported {len(change.subject_ids)} subjects.")

    def _on_import_failed(self, exc: Exception) -> None:
        self.statusBar().clearMessage()
        ask.failure(self, "The import failed: nothing was imported.", exc)

    def _on_export_triggered(self) -> None:
        name = ask.save_file(self, "Export subjects", "subjects.json", "Subject files (*.json)")
        if not name:
            return
        self.statusBar().showMessage(f"Exporting to {Path(name).name}…")  # 10,000 subjects take a while
        self.session.run_in_background(self, lambda service: service.export_file(name),
                                       lambda count: self._on_export_done(name, count), self._on_export_failed)

    def _on_export_done(self, name: str, count: int) -> None:
        self.statusBar().clearMessage()
        self.session.notify(Change("export"))
        ask.info(self, f"Exported {count} subjects to {name}.")

    def _on_export_failed(self, exc: Exception) -> None:
        self.statusBar().clearMessage()
        ask.failure(self, "The export failed: nothing was exported.", exc)

    def _on_print_triggered(self) -> None:
        from coordinator.ui import printing  # QtPrintSupport loads when first needed
        study = self.service.protocol.code
        view = self.stack.currentWidget()
        day, subject_id = self.session.day.isoformat(), None
        if view is self._screens.get("subject") and self.subject_view.checklist.visit is not None:
            checklist = self.subject_view.checklist
            subject_id = self.subject_view.subject.id
            what = f"checklist {checklist.visit.visit.code}"
            printed = printing.print_html(self, "Visit checklist", printing.checklist_html(
                study, self.subject_view.subject, checklist.visit, checklist.model.rows()))
        elif view is self._screens.get("subjects"):
            what = f"subject registry on {day}"
            printed = printing.print_html(self, "Subjects", printing.registry_html(study, self.session.day, self.subjects_view.rows()))
        else:
            what = f"due list of {day}"
            printed = printing.print_html(self, "Due list", printing.due_list_html(study, self.session.day, self.due_view.rows()))
        if printed:  # who printed what, when (the forms record theirs in form_preview)
            self.session.notify(self.service.record_print(what, subject_id))

    def _on_shortcuts_triggered(self) -> None:
        rows = [(a.text().replace("&", ""), a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
                for top in self.menuBar().actions() if top.menu() for a in top.menu().actions()
                if not a.shortcut().isEmpty()]
        ask.info(self, "Keyboard shortcuts\n\n" + "\n".join(f"{key:>14}   {text}" for text, key in rows)
                 + "\n\nIn any list: type to search, Enter opens the selected row.")

    def _on_about_triggered(self) -> None:
        ask.about(self, "About Coordinator", about_html(self.service.protocol, self.session.path))

    # -- closing ---------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        settings.GEOMETRY.set(self.saveGeometry())
        settings.LAST_VIEW.set(VIEWS[self.nav.currentRow()])
        if "subject" in self._screens:
            settings.LAST_SUBJECT.set(self.subject_view.subject_id or "")
            self.subject_view.save_layout()
        self.backups.back_up_on_close(self)
        self.session.close()
        super().closeEvent(event)


def about_html(protocol: Protocol, path: Path) -> str:
    """The About box: the version, the study and its protocol file, the libraries and the database
    (what a bug report needs)."""
    import platform
    return (f"<h3>Coordinator {__version__}</h3>"
            "<p>Visit schedules, checklists and forms for clinical-trial research coordinators.</p>"
            f"<p>Study {escape(protocol.code)}: {escape(protocol.title)}<br>"
            f"Protocol file {escape(Path(protocol.source).name)}, sha256 {protocol.sha256[:12]}</p>"
            f"<p>Python {platform.python_version()} · Qt {qVersion()} · PySide6 {PySide6.__version__}</p>"
            f"<p>Database: {escape(str(path))}</p>")
