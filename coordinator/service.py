"""The one object through which the command line and the GUI reach the study.

A write loads the subject's facts, applies the change, checks the whole subject
(``validation.check_subject``), then in one transaction saves the facts, writes
an audit row for every value that changed and rebuilds the subject's plan
cache. It returns a ``Change`` saying which subject changed, so each open
screen can decide whether to refresh.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import getpass
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from coordinator import accounts as accounts_mod
from coordinator import protocol as protocol_mod
from coordinator import transfer
from coordinator.accounts import Account
from coordinator.checklist import ChecklistItem, Progress, ScreeningCheck, checklist_progress, screening_checks, visit_checklist
from coordinator.dates import iso
from coordinator.db.chain import ChainReport
from coordinator.db.store import AuditRow, Store, Transaction, failure_error, log_to_recover
from coordinator.errors import AccessDenied, CoordinatorError, CorrectionNeedsReason, InputError, LogInFailed, StoreError
from coordinator.model import DoseChange, DueItem, ProcedureRecord, Steroid, Subject, VisitRecord, in_order
from coordinator.protocol import Protocol, VisitRef
from coordinator.schedule import FIRST_DOSE, PlannedVisit, build_plan, first_dose_visit, current_cycle_day, latest_number, study_end, subject_status
from coordinator.validation import check_subject, not_scheduled, pre_dose_day_1

# The day's packet reprints an overdue visit's forms for this many days after its window closed.
PACKET_OVERDUE_DAYS = 7

# Bump when the schedule rules change: every cached plan is then rebuilt on open.
ENGINE_VERSION = "1"

# Automatic backups kept per database (the oldest beyond are deleted).
AUTO_BACKUPS_KEPT = 20

# Audit actions that change no study data: an automatic backup after only these would be a
# copy of the one before (and would push an older, different one out of the rotation).
UNCHANGING = frozenset({"login", "login_failed", "login_refused", "unlock", "signature_password", "password_check", "print", "export", "backup", "auto_backup"})

# Fields that hold a plan, not a record: changing or clearing them is not a correction.
PLANS = frozenset({"planned_c1d1"})


def requires(permission: str):
    """Check the permission (``accounts.PERMISSIONS``) before the method runs: the service, not
    the GUI, decides who may do what. Every public method carries one (a test checks). What the
    outer call was allowed, the public methods it calls in turn are too: each action is checked
    once (add_subject is an import of one subject, allowed to whoever may change subjects)."""
    def decorate(method):
        @functools.wraps(method)
        def checked(self, *args, **kwargs):
            if self._checked:
                return method(self, *args, **kwargs)
            self.require(permission)
            self._checked = True
            try:
                return method(self, *args, **kwargs)
            finally:
                self._checked = False
        checked.permission = permission
        return checked
    return decorate


@dataclass(frozen=True)
class Change:
    """What a write saved: its action, and the subjects whose records it changed (none for a change
    to the study as a whole: an account, the site, a print or an export, each with its audit row).
    ``nothing``: the write found nothing to change (a tick ticked again) and saved nothing."""

    action: str
    subject_ids: tuple[str, ...] = ()
    nothing: bool = False


@dataclass(frozen=True)
class TimelineVisit:
    visit: PlannedVisit
    status: str

    def as_json(self) -> dict:
        v = self.visit
        return {"visit": v.code, "label": v.label, "target": iso(v.target), "window_start": iso(v.window_start),
                "window_end": iso(v.window_end), "date": iso(v.date), "status": self.status,
                "out_of_window": v.out_of_window}


@dataclass(frozen=True)
class Timeline:
    subject: Subject
    status: str
    cycle_day: tuple[int, int] | None
    visits: list[TimelineVisit]

    def as_json(self) -> dict:
        return {"subject": self.subject.id, "status": self.status, "visits": [v.as_json() for v in self.visits]}


@dataclass(frozen=True)
class Checklist:
    subject: str
    visit: str
    label: str
    items: list[ChecklistItem]

    @property
    def progress(self) -> Progress:
        return checklist_progress(self.items)

    def as_json(self) -> dict:
        return {"subject": self.subject, "visit": self.visit, "procedures": [
            {"id": i.id, "label": i.label, "category": i.category, "status": i.status, "condition": i.condition,
             "date": iso(i.date), "reason": i.reason or None, "repeat": i.repeat, "note": i.note or None}
            for i in self.items]}


@dataclass(frozen=True)
class ScreeningExpiry:
    """A screening result that will no longer support the planned cycle 1 day 1: done too long
    before it (expired by then) or too close to it (``valid_until`` is then after the planned day)."""

    subject: str
    initials: str
    planned_c1d1: dt.date
    procedure: str  # procedure id
    label: str
    done: dt.date
    valid_until: dt.date
    problem: str  # as the screening checklist will say it once that day is recorded as cycle 1 day 1


@dataclass(frozen=True)
class SubjectSummary:
    id: str
    initials: str
    status: str
    cycle_day: tuple[int, int] | None  # only while on treatment
    next_visit: PlannedVisit | None  # a screening subject's planned first dose among them (first_dose_visit)


@dataclass(frozen=True)
class Signature:
    visit: str
    user: str
    display_name: str
    meaning: str
    at: str  # UTC
    changed_since: bool = False  # the visit's record changed after the signature: sign it again


@dataclass
class Service:
    store: Store
    protocol: Protocol
    user: str = field(default_factory=lambda: _os_user())
    today: dt.date = field(default_factory=dt.date.today)
    account: Account | None = None  # who logged in; None: nobody (yet), or single-user mode
    _checked: bool = field(default=False, init=False, repr=False)  # inside a call already checked (requires)

    # -- opening and creating ------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, user: str | None = None, today: dt.date | None = None,
             account: Account | None = None, protocol: Protocol | None = None) -> Service:
        """Open a study database. Where it has accounts, nothing can be done before ``log_in``;
        ``account``: a log-in this process already checked (a worker thread's second connection);
        ``protocol``: the protocol read from this database before (the window's), taken again
        without parsing while the database still holds the same text (threads may share one: it
        never changes once loaded, and its look-ups only fill caches)."""
        store, protocol = _open_store(path, known=protocol)
        service = cls(store, protocol, account.name if account else user or _os_user(), today or dt.date.today(),
                      account)
        service._refresh_stale_plans()
        return service

    @classmethod
    def open_if_quick(cls, path: str | Path, user: str | None = None) -> Service | None:
        """``open``, unless opening has slow work to do first: migrating the schema, rebuilding
        every cached plan, or a write-ahead log to recover (left by a crash, or by a window still
        open on the file), any of which takes a while on a large database (the app does it on a
        worker thread). None then, with nothing opened, migrated or rebuilt."""
        if log_to_recover(Path(path)):
            return None
        store, protocol = _open_store(path, migrate=False)
        service = cls(store, protocol, user or _os_user(), dt.date.today())
        quick = False
        try:
            quick = not store.migrations_pending() and not service._plans_stale()
        finally:
            if not quick:
                service.close()
        return service if quick else None

    @classmethod
    def create(cls, path: str | Path, protocol_path: str | Path | None = None, user: str | None = None,
               today: dt.date | None = None) -> Service:
        protocol = protocol_mod.load(protocol_path)  # validate before touching the disk
        store = Store(path, create=True)
        service = cls(store, protocol, user or _os_user(), today or dt.date.today())
        try:
            with store.write(service.user, "init") as tx:
                tx.set_meta("format", "coordinator-db/1")
                tx.set_meta("protocol_text", protocol.text)
                tx.set_meta("protocol_source", Path(protocol.source).name)
                tx.set_meta("protocol_sha256", protocol.sha256)
                tx.set_meta("plan_version", service._plan_version())
                tx.audit(None, "protocol", None,
                         f"{protocol.code} ({Path(protocol.source).name}, sha256 {protocol.sha256[:12]})")
        except BaseException:
            store.discard()  # never leave a half-made database that can be neither opened nor re-created
            raise
        return service

    def close(self) -> None:
        self.store.close()

    @property
    def path(self) -> Path:
        """The database file."""
        return self.store.path

    def _plan_version(self) -> str:
        return f"{ENGINE_VERSION}:{self.protocol.sha256}"

    def _plans_stale(self) -> bool:
        """Whether the cached plans were built by another engine or protocol than this one's."""
        return self.store.meta("plan_version") != self._plan_version()

    def _refresh_stale_plans(self) -> None:
        """Rebuild every cached plan when the engine that built them has changed."""
        if not self._plans_stale():
            return
        with self.store.write(self.user, "rebuild_plans") as tx:
            for subject in self.store.load_subjects(procedures=False):
                tx.save_plan(subject.id, build_plan(self.protocol, subject))
            tx.set_meta("plan_version", self._plan_version())

    # -- who may do what -------------------------------------------------------------------
    @property
    def single_user(self) -> bool:
        """No accounts in the database: everything allowed, the operating-system user audited."""
        return self.account is None and not self.store.has_accounts()

    def needs_log_in(self) -> bool:
        return self.account is None and self.store.has_accounts()

    def may(self, permission: str) -> bool:
        if self.account is not None:
            return self.account.may(permission)
        return self.single_user

    def require(self, permission: str) -> None:
        if self.account is not None and self._account_now() is None:  # disabled since this session logged in?
            raise AccessDenied(f"The account {self.account.name} was disabled: log in again with another one.")
        if self.may(permission):
            return
        if self.account is None:
            raise AccessDenied("This database has accounts: log in first (the command line takes --user NAME, "
                               "and the password from the terminal or COORDINATOR_PASSWORD).")
        raise AccessDenied(f"{self.account.name} ({self.account.role}) may not {accounts_mod.DOING[permission]}.")

    def log_in(self, name: str, password: str) -> Account:
        """Check a name and password. Every try is audited; after ``FREE_TRIES`` failures in a row
        each further try must wait (2, 4, 8... s, up to 5 min), whatever the password."""
        return self._check_password(name, password, "login", "Wrong user name or password.")

    def confirm_password(self, password: str, action: str = "unlock") -> None:
        """The logged-in person gives their password again (``action``: unlocking the window, or
        signing), counted and slowed down as log-ins are."""
        if self.account is None:
            raise AccessDenied("Nobody is logged in.")
        self._check_password(self.account.name, password, action, "Wrong password.")

    def _check_password(self, name: str, password: str, action: str, wrong: str) -> Account:
        name = (name or "").strip()
        account = self.store.account(name) if name else None
        if account is None:
            accounts_mod.password_matches(password, accounts_mod.dummy_hash())  # as slow as a real check
            # an unknown name is not written down: it may be a password typed in the wrong box
            self._audit_log_in("login_failed", "(unknown)", "no such account")
            raise LogInFailed(wrong)
        # The try is counted as a failure before the (slow) check, in a write transaction: guesses
        # made in parallel each count, and each waits its turn once there were too many.
        with self.store.write(account.name, "login_refused") as tx:
            account = self.store.account(account.name)
            wait = accounts_mod.wait_before_next_try(account, dt.datetime.now(dt.timezone.utc))
            if wait:
                tx.audit(None, "account", None, account.name, f"too many failed log-ins; {wait} s to wait")
            else:
                tx.update_account(account.name, failed_logins=account.failed_logins + 1, last_failed_at=tx.at)
        if wait:
            raise LogInFailed(f"Too many failed log-ins for {account.name}: wait {wait} seconds, then try again.")
        if not accounts_mod.password_matches(password, self.store.password_hash(account.name)):
            self._audit_log_in("login_failed", account.name, f"wrong password ({action})", account.name)
            raise LogInFailed(wrong)
        if not account.active:
            self._audit_log_in("login_refused", account.name, "account disabled", account.name)
            raise LogInFailed(f"The account {account.name} is disabled: ask an administrator.")
        with self.store.write(account.name, action) as tx:
            tx.audit(None, "account", None, account.name)
            tx.update_account(account.name, failed_logins=0, last_failed_at=None)
        self.account = replace(account, failed_logins=0, last_failed_at=None)
        self.user = account.name
        return self.account

    def _audit_log_in(self, action: str, name: str, why: str, account: str | None = None) -> None:
        with self.store.write(name, action) as tx:
            tx.audit(None, "account", None, account, why)

    # -- accounts --------------------------------------------------------------------------
    @requires("accounts")
    def accounts(self) -> list[Account]:
        return self.store.accounts()

    def add_account(self, name: str, role: str, password: str, display_name: str | None = None) -> Change:
        """A new account. The first of a database must be an admin, and may be added without a
        log-in (single-user mode ends with it, and this session continues as that admin)."""
        first = not self.store.has_accounts()
        if not first:
            self.require("accounts")
        name, display_name = (name or "").strip(), " ".join((display_name or name or "").split())
        for field_name, problem in (("name", accounts_mod.check_name(name)), ("role", accounts_mod.check_role(role)),
                                    ("password", accounts_mod.check_password(name, password))):
            if problem:
                raise InputError(None, field_name, problem)
        if first and role != "admin":
            raise InputError(None, "role", "the first account must be an admin (it manages the others): use --role admin")
        if not display_name or len(display_name) > 80:
            raise InputError(None, "display name", "must be 1 to 80 characters")
        if self.store.account(name) is not None:
            raise InputError(None, "name", f"an account named {self.store.account(name).name} already exists "
                             "(names are never reused, even of disabled accounts)")
        hashed = accounts_mod.hash_password(password)
        with self.store.write(self.user, "account_add") as tx:
            tx.add_account(name, display_name, role, hashed)
            tx.audit(None, "account", None, f"{name} ({role}, {display_name})")
        if first:
            self.account = self.store.account(name)
            self.user = name
        return Change("account_add")

    @requires("accounts")
    def disable_account(self, name: str) -> Change:
        account = self._account(name)
        if not account.active:
            raise InputError(None, "name", f"{account.name} is already disabled")
        if account.role == "admin" and sum(a.role == "admin" and a.active for a in self.store.accounts()) == 1:
            raise InputError(None, "name", f"{account.name} is the last active admin: add another admin first")
        with self.store.write(self.user, "account_disable") as tx:
            tx.update_account(account.name, disabled_at=tx.at)
            tx.audit(None, "account", account.name, None, f"{account.name} disabled")
        return Change("account_disable")

    @requires("accounts")
    def enable_account(self, name: str) -> Change:
        account = self._account(name)
        if account.active:
            raise InputError(None, "name", f"{account.name} is not disabled")
        with self.store.write(self.user, "account_enable") as tx:
            tx.update_account(account.name, disabled_at=None, failed_logins=0, last_failed_at=None)
            tx.audit(None, "account", None, account.name, f"{account.name} enabled")
        return Change("account_enable")

    def set_password(self, name: str, password: str, current: str | None = None) -> Change:
        """An admin sets anyone else's password; everyone sets their own, giving the current one
        (an unattended window must not let someone else take over the account)."""
        account = self._account(name)
        if self.account is not None and self.account.name == account.name:
            if current is None:
                raise InputError(None, "current password", "give your current password to change it")
            self.confirm_password(current, "password_check")
        else:
            self.require("accounts")
        problem = accounts_mod.check_password(account.name, password)
        if problem:
            raise InputError(None, "password", problem)
        hashed = accounts_mod.hash_password(password)
        with self.store.write(self.user, "account_password") as tx:
            tx.update_account(account.name, password_hash=hashed, failed_logins=0, last_failed_at=None)
            tx.audit(None, "account", None, account.name, "password set")
        return Change("account_password")

    def _account(self, name: str) -> Account:
        account = self.store.account((name or "").strip())
        if account is None:
            raise InputError(None, "name", f"there is no account named {name!r}")
        return account

    # -- backups (coordinator.db.backup loads when first used) --------------------------------------------
    @requires("backup")
    def backup(self, target: str | Path):
        """A verified copy of the database through SQLite's online backup API (never a file copy),
        then its audit row: who backed up, where to, and the chain's head the copy holds."""
        from coordinator.db import backup as backup_mod
        report = backup_mod.write_backup(self.store.conn, self.store.path, Path(target))
        self._audit_backup("backup", report)
        return report

    @requires("backup")
    def auto_backup(self, folder: str | Path | None = None, keep: int = AUTO_BACKUPS_KEPT):
        """The app's own rotating backup (made by the roles that may back up), into
        ``folder`` (default: 'backups' beside the database); the oldest beyond ``keep`` are deleted.
        None, and no backup, when nothing but log-ins, prints and backups happened since the last."""
        from coordinator.db import backup as backup_mod
        folder = Path(folder) if folder else backup_mod.default_backup_folder(self.store.path)
        since = self.store.actions_since_last("auto_backup")
        if since is not None and since <= UNCHANGING and backup_mod.backups_in(folder, self.store.path.stem):
            return None  # nothing changed since the last one: keep the older backups instead
        report = backup_mod.auto_backup(self.store.conn, self.store.path, folder, keep)
        self._audit_backup("auto_backup", report)
        return report

    @requires("restore")
    def check_backup(self, backup: str | Path):
        """What a backup holds (``backup.BackupReport``: its study, subjects, last change), checked
        as a restore checks it (``backup.check_restorable``): of this study among the rest."""
        from coordinator.db import backup as backup_mod
        return backup_mod.check_restorable(Path(backup), self.protocol.code)

    @requires("restore")
    def restore(self, backup: str | Path, safety_folder: str | Path | None = None):
        """Replace the database's content with a verified backup. The current content is backed up
        first (into ``safety_folder``, default the backups folder), so a restore can be undone; the
        restore's audit row goes into the backup's trail before it is put in place, so the data and
        the row arrive together. This service then goes on with the restored data, and with the
        restored accounts: the one logged in, as the backup has it; where the backup does not have
        it (or has it disabled), nobody, so the next call asks for a log-in (or, in a backup
        without accounts, goes on in single-user mode under the same name). A backup of another
        study is refused."""
        from coordinator.db import backup as backup_mod
        backup, path = Path(backup), self.store.path
        # a bad backup, or another study's, is refused before anything is touched
        copy = backup_mod.working_copy(backup, path.parent, study=self.protocol.code)
        closed = []
        try:
            folder = Path(safety_folder) if safety_folder else backup_mod.default_backup_folder(path)
            safety = backup_mod.safety_backup(self.store.conn, path, folder)
            self._audit_backup("backup", safety)
            # checked here: this person may restore (the backup's accounts may not even know them)
            return _restore_with_row(copy, backup.name, path, self.user, f"the content before it is in {safety.path.name}",
                                     before=lambda: closed.append(self.store.close()), checked=True)
        finally:
            backup_mod.remove_with_side_files(copy[0])
            if closed:  # restored or not, this service goes on with what is there now
                self.store, self.protocol = _open_store(path)
                self._refresh_stale_plans()
                self._log_in_again()

    def _log_in_again(self) -> None:
        """After the database changed under this session (a restore): the logged-in account as
        the database now has it, or nobody when it has no such active account."""
        if self.account is None:
            return
        self.account = self._account_now()
        if self.account is not None:
            self.user = self.account.name

    def _account_now(self) -> Account | None:
        """The logged-in account as the database has it now; None when it is gone or disabled."""
        current = self.store.account(self.account.name)
        return current if current is not None and current.active else None

    def _audit_backup(self, action: str, report) -> None:
        with self.store.write(self.user, action) as tx:
            tx.audit(None, "backup", None, f"{report.path.name}: {report.subjects} subjects, audit #{report.audit_rows} "
                     f"head {report.audit_head[:16]}", "the audit trail was already broken: " + " ".join(
                         report.audit_problems) if report.audit_problems else None)

    # -- the audit trail ----------------------------------------------------------------------
    @requires("audit")
    def verify_audit(self, backups: str | Path | None = None) -> ChainReport:
        """Check every row against the chain, and the trail against the newest good automatic
        backup in ``backups`` (default: the backups folder beside the database): rows deleted from
        the end leave the chain whole, but not the backup's row #N and its hash."""
        report = self.store.verify_audit()
        if not report.ok:  # broken already: no backup needs checking to say so
            return report
        found = last_good_backup(self.store.path, backups)
        if found is None:
            return report
        backup, held = found
        # a good backup's trail runs unbroken from #1, so its last row is #audit_rows
        problem = self.store.audit_continues(held.audit_rows, held.audit_head, f"the backup {backup.name}")
        if problem:
            return replace(report, problems=(problem,))
        return replace(report, compared_with=backup.name)

    # -- reads -----------------------------------------------------------------------
    @requires("read")
    def subject(self, subject_id: str) -> Subject:
        """The subject's facts; names and MRNs hidden from a role that may not see them."""
        return self._shown(self._subject(subject_id))

    def _shown(self, subject: Subject) -> Subject:
        """The subject as this role may see it: names and MRNs hidden where it may not."""
        if not self.may("identity"):
            subject = replace(subject, name=subject.name and accounts_mod.HIDDEN, mrn=subject.mrn and accounts_mod.HIDDEN)
        return subject

    def _subject(self, subject_id: str) -> Subject:
        subject = self.store.load_subject(subject_id)
        if subject is None:
            raise InputError(subject_id, "subject", "no such subject")
        return subject

    @requires("read")
    def subjects(self, on: dt.date | None = None) -> list[SubjectSummary]:
        """The registry: each subject's status, cycle and day, and next visit (a screening
        subject's planned first dose once screening is done), on ``on``."""
        on = on or self.today
        summaries = []
        plans = self.store.plans()
        for subject in self.store.load_registry():
            plan = plans[subject.id]
            upcoming = [v for v in plan if v.status(on) in ("overdue", "due", "planned")]
            status = subject_status(self.protocol, subject, on, plan)
            if first_dose := self._first_dose_to_come(subject, status):
                upcoming.append(first_dose)
            summaries.append(SubjectSummary(
                subject.id, subject.initials, status, current_cycle_day(plan, on) if status == "on_treatment" else None,
                upcoming[0] if upcoming else None))
        return summaries

    @requires("read")
    def due(self, on: dt.date | None = None, days: int = 7) -> list[DueItem]:
        """Overdue (most days late first), due (window closing soonest first), then upcoming
        (window opening within ``days``, soonest first), read from the plan cache; with them the
        first doses planned for screening subjects (``first_dose_visit``: the planned day its
        window), which are in no plan until they happen."""
        if days < 0:
            raise InputError(None, "days", "must be 0 or more")
        on = on or self.today
        try:
            horizon = on + dt.timedelta(days=days)
        except OverflowError:
            raise InputError(None, "days", f"{days} days after {on.isoformat()} is past the end of the calendar") from None
        first_doses = []
        for subject in self.store.load_awaiting_planned():
            visit = self._first_dose_to_come(subject, subject_status(self.protocol, subject, on))
            if visit is not None and visit.window_start <= horizon:
                first_doses.append(DueItem.of(subject.id, visit.code, visit.label, visit.target, visit.window_start,
                                              visit.window_end, visit.status(on), on))
        return sorted(self.store.due(on, horizon) + first_doses, key=DueItem.urgency)

    @requires("read")
    def timeline(self, subject_id: str, on: dt.date | None = None) -> Timeline:
        """The subject's plan, each visit with its status on ``on``, and a screening subject's
        planned first dose (``_first_dose_to_come``: its pre-dose checklist is worked through
        before it is given)."""
        on = on or self.today
        subject = self.subject(subject_id)
        plan = self.store.plan(subject_id)
        status = subject_status(self.protocol, subject, on, plan)
        visits = [TimelineVisit(v, v.status(on)) for v in plan]
        if first_dose := self._first_dose_to_come(subject, status):
            visits.append(TimelineVisit(first_dose, first_dose.status(on)))
        return Timeline(subject, status, current_cycle_day(plan, on), visits)

    def _first_dose_to_come(self, subject: Subject, status: str) -> PlannedVisit | None:
        """A screening subject's cycle 1 day 1 on its planned day, a window of one day
        (``first_dose_visit``): in no plan until it is given, yet on the timeline, the due list
        and the registry as any visit. None when no first dose is planned."""
        if status != "screening" or subject.c1d1 is not None or subject.planned_c1d1 is None:
            return None
        return first_dose_visit(self.protocol, subject.planned_c1d1)

    @requires("read")
    def checklist(self, subject_id: str, visit: str, subject: Subject | None = None) -> Checklist:
        """The visit's procedures and their ticks; ``subject``: the subject as a read of this
        service just gave it (the subject screen has it from ``timeline``), else read here."""
        subject = subject if subject is not None and subject.id == subject_id else self.subject(subject_id)
        ref = self._visit_ref(subject_id, visit)
        labels = {v.code: v.label for v in self.store.plan(subject_id)}
        if pre_dose_day_1(subject, visit):
            labels[visit] = first_dose_visit(self.protocol, self.today).label
        if visit not in labels:
            raise InputError(subject_id, "visit", not_scheduled(self.protocol, visit))
        return Checklist(subject.id, visit, labels[visit], visit_checklist(self.protocol, subject, ref))

    @requires("read")
    def planned_visit(self, subject_id: str, visit: str, on: dt.date | None = None,
                      subject: Subject | None = None) -> PlannedVisit:
        """One visit of the subject's plan; a screening subject's cycle 1 day 1, not planned until
        it happens, stands on its planned day (else ``on``). ``subject``: already loaded."""
        subject = subject or self.subject(subject_id)
        self._visit_ref(subject_id, visit)
        for planned in self.store.plan(subject_id):
            if planned.code == visit:
                return planned
        if pre_dose_day_1(subject, visit):
            return first_dose_visit(self.protocol, subject.planned_c1d1 or on or self.today)
        raise InputError(subject_id, "visit", not_scheduled(self.protocol, visit))

    # -- forms (reportlab loads only when a form is made) ------------------------------------------
    @requires("read")
    def site(self) -> str:
        """The site's name as the forms print it ('' until set)."""
        return self.store.meta("site_name") or ""

    @requires("settings")
    def set_site(self, name: str) -> Change:
        name = " ".join(name.split())
        if not name or len(name) > 120:
            raise InputError(None, "site", "must be 1 to 120 characters")
        with self.store.write(self.user, "set_site") as tx:
            tx.audit(None, "site_name", self.site() or None, name)
            tx.set_meta("site_name", name)
        return Change("set_site")

    @requires("read")
    def collection_day(self, planned: PlannedVisit, on: dt.date | None = None) -> dt.date:
        """The day a visit's samples are taken, for its accession id: its recorded date; else
        ``on`` when given (printing ahead for a day); else today inside the window, or the
        target when the visit is not due today."""
        if planned.date is not None:
            return planned.date
        if on is not None:
            return on
        return self.today if planned.window_start <= self.today <= planned.window_end else planned.target

    def _printable(self, subject_id: str, visit: str, on: dt.date | None) -> PlannedVisit:
        planned = self.planned_visit(subject_id, visit, on)
        if planned.date is None and planned.cancelled_from is not None:
            raise InputError(subject_id, "visit", f"{visit} was cancelled from {planned.cancelled_from.isoformat()}: "
                             "it has no requisition")
        return planned

    @requires("print")
    def requisition_pdf(self, subject_id: str, visit: str, on: dt.date | None = None) -> bytes:
        """The visit's lab requisition (one page per destination); ``on``: the collection day
        when the visit has no recorded date (see ``collection_day``)."""
        from coordinator.forms.requisition import requisition_pdf
        planned = self._printable(subject_id, visit, on)
        return requisition_pdf(self.protocol, self.subject(subject_id), planned, self.collection_day(planned, on),
                               self.site(), printed=self.today)

    @requires("print")
    def dosing_pdf(self, subject_id: str, cycle: int) -> bytes:
        from coordinator.forms.dosing import dosing_pdf
        return dosing_pdf(self.protocol, self.subject(subject_id), cycle, self.today)

    @requires("read")
    def day_packet(self, on: dt.date | None = None) -> list[tuple[str, str]]:
        """The visits of the day's packet, in dashboard order: those whose target is the day (a
        first dose planned for it among them), whose window closes that day, or overdue by at most
        ``PACKET_OVERDUE_DAYS`` (older ones stay on the dashboard, printed one by one). A first dose
        whose planned day has passed is not printed: its calendar would count from a day nobody
        planned (it stays on the dashboard, to be given or planned again)."""
        on = on or self.today
        return [(i.subject, i.visit) for i in self.due(on, 0)
                if (i.status == "due" and (i.target == on or i.window_end == on))
                or (i.status == "overdue" and i.days <= PACKET_OVERDUE_DAYS and i.visit != FIRST_DOSE)]

    @requires("print")
    def day_packet_pdf(self, on: dt.date | None = None, progress=None,
                       visits: list[tuple[str, str]] | None = None) -> bytes:
        """One PDF: each packet visit's requisition, and the dosing form of each cycle's day 1
        (counted from the day itself when day 1 is not recorded yet: it happens that day).
        ``progress(done, total)`` is called as the work goes (the GUI shows it). ``visits``: the
        day's ``day_packet``, when the caller has it already (to count them)."""
        from reportlab.platypus import PageBreak

        from coordinator.forms.common import build, para
        from coordinator.forms.dosing import dosing_story
        from coordinator.forms.requisition import requisition_story
        from coordinator.forms.stamps import Stamps
        on = on or self.today
        visits = self.day_packet(on) if visits is None else visits
        total = len(visits) + 1  # the last step lays the pages out
        story: list = []
        site = self.site()
        stamps = Stamps()  # what the packet's forms share is laid out and written once
        # every subject at once, with the ticks of the packet's visits (a checklist reads only its own)
        subjects = {subject.id: self._shown(subject) for subject in self.store.load_for_checklists(visits)}
        for n, (subject_id, code) in enumerate(visits, 1):
            subject = subjects.get(subject_id) or self.subject(subject_id)  # none: says 'no such subject'
            planned = self.planned_visit(subject_id, code, on, subject)
            parts = [requisition_story(self.protocol, subject, planned, self.collection_day(planned, on), site, stamps)]
            if planned.kind == "cycle" and planned.day == 1:
                parts.append(dosing_story(self.protocol, subject, planned.cycle, day1=on, visit=planned, stamps=stamps))
            for part in parts:
                if part:
                    if story:
                        story.append(PageBreak())
                    story += part
            if progress is not None:
                progress(n, total)
        if not story:
            story = [para(f"Nothing is due on {on.isoformat()}: no forms to print.")]
        pdf = build(story, f"Day packet {on.isoformat()}", self.protocol.code, self.today)
        if progress is not None:
            progress(total, total)
        return pdf

    @requires("print")
    def record_print(self, what: str, subject_id: str | None = None) -> Change:
        """Who printed which form or list, when: one audit row (a form saved as a file: ``save_form``)."""
        with self.store.write(self.user, "print") as tx:
            tx.audit(subject_id, "print", None, what)
        return Change("print")

    @requires("print")
    def save_form(self, path: str | Path, pdf: bytes, what: str, subject_id: str | None = None) -> Change:
        """A form saved as a PDF file, with its audit row ('<what> saved as <file name>')."""
        self._save_with_audit(path, pdf, "print", subject_id, f"{what} saved as {Path(path).name}", "Nothing was saved.")
        return Change("print")

    @requires("read")
    def progress(self, pairs: Iterable[tuple[str, str]], subject: Subject | None = None) -> dict[tuple[str, str], Progress]:
        """Checklist progress of many (subject id, visit code) pairs at once, as ``Checklist.progress``
        gives it for one; each subject is read once (``subject``: one already read, with all its
        ticks, as ``timeline`` gives it). Pairs that ``checklist`` would refuse (no such subject,
        no such visit in the subject's schedule) are left out."""
        pairs = list(dict.fromkeys(pairs))
        if subject is not None and all(sid == subject.id for sid, _ in pairs):
            subjects = {subject.id: subject}
        else:
            subjects = {s.id: s for s in self.store.load_for_checklists(pairs)}
        codes = self.store.planned_codes(subjects)
        out = {}
        for sid, visit in pairs:
            subject = subjects.get(sid)
            ref = self.protocol.parse_visit(visit)
            if subject is None or ref is None or not (visit in codes[sid] or pre_dose_day_1(subject, visit)):
                continue
            out[(sid, visit)] = checklist_progress(visit_checklist(self.protocol, subject, ref))
        return out

    @requires("read")
    def screening_checks(self, subject_id: str) -> list[ScreeningCheck]:
        return screening_checks(self.protocol, self.subject(subject_id))

    @requires("read")
    def screening_expiries(self, on: dt.date | None = None) -> list[ScreeningExpiry]:
        """Screening results that will not support a subject's planned cycle 1 day 1 (expired by
        then, or too recent), for subjects awaiting the first dose on ``on`` (no cycle 1 day 1,
        no screen failure, study not ended by ``on``); soonest ``valid_until`` first."""
        on = on or self.today
        out = []
        for subject in self.store.load_awaiting_planned():
            end = study_end(self.protocol, subject)
            if end is not None and end <= on:
                continue
            planned = subject.planned_c1d1
            for check in screening_checks(self.protocol, subject):
                problem = check.problem(planned)
                if problem is not None:
                    out.append(ScreeningExpiry(subject.id, subject.initials, planned, check.procedure.id,
                                               check.procedure.label, check.done, check.valid_until, problem))
        out.sort(key=lambda e: (e.valid_until, e.subject))
        return out

    @requires("read")
    def initials(self) -> dict[str, str]:
        """Each subject's initials by id (the dashboard shows them beside the id)."""
        return self.store.initials()

    @requires("read")
    def enrolled_count(self) -> int:
        return self.store.count_started()

    @requires("audit")
    def audit(self, subject_id: str | None = None) -> list[AuditRow]:
        """The audit trail (a subject's rows, or all), oldest first; names and MRNs hidden from a
        role that may not see them."""
        rows = self.store.audit_rows(subject_id)
        return rows if self.may("identity") else [_hide_identity(row) for row in rows]

    @requires("audit")
    def save_audit_csv(self, path: str | Path, data: bytes, rows: int) -> Change:
        """The audit trail's rows as CSV (made by the GUI, which shows and filters them), with its
        audit row."""
        self._save_with_audit(path, data, "export", None, f"audit trail CSV: {rows} rows -> {Path(path).name}",
                              "Nothing was exported.")
        return Change("export")

    @requires("read")
    def signatures(self, subject_id: str) -> list[Signature]:
        """The sign-offs of the subject's visits, oldest first, each saying whether the visit's
        record (its date, notes, checklist) changed after it was signed."""
        rows = self.store.signatures(subject_id)
        audit = self.store.audit_rows(subject_id) if rows else []
        out = []
        for visit, user, display_name, meaning, at in rows:
            touched = (f"visits.{visit}", f"procedures.{visit}.") + (("c1d1",) if visit == FIRST_DOSE else ())
            changed = any(r.at > at and r.action != "sign" and (r.field or "").startswith(touched) for r in audit)
            out.append(Signature(visit, user, display_name, meaning, at, changed))
        return out

    @requires("sign")
    def sign_visit(self, subject_id: str, visit: str, password: str, meaning: str = "reviewed and approved") -> Change:
        """An investigator's electronic signature on a recorded visit: their password again (the
        signature's second component, 21 CFR 11.200), then the sign-off with its meaning and time."""
        if self.account is None:
            raise AccessDenied("A signature names a person: add accounts ('coordinator user add') to sign off visits.")
        self._visit_ref(subject_id, visit)
        self._subject(subject_id)
        planned = {v.code: v for v in self.store.plan(subject_id)}.get(visit)
        if planned is None or (planned.date is None and not planned.missed):
            raise InputError(subject_id, "visit", f"{visit} is not recorded yet: there is nothing to sign")
        meaning = " ".join((meaning or "").split())
        if not meaning or len(meaning) > 120:
            raise InputError(subject_id, "meaning", "must be 1 to 120 characters")
        self.confirm_password(password, "signature_password")
        with self.store.write(self.user, "sign") as tx:
            tx.add_signature(subject_id, visit, self.account, meaning)
            tx.audit(subject_id, f"signature.{visit}", None, f"{self.account.display_name} ({self.account.name}): {meaning}")
        return Change("sign", (subject_id,))

    # -- writes: subjects --------------------------------------------------------------
    @requires("subjects")
    def add_subject(self, subject: Subject) -> Change:
        return self.import_subjects([subject], action="add_subject")

    @requires("subjects")
    def edit_subject(self, subject_id: str, reason: str | None = None, **fields) -> Change:
        """Change demographic fields (initials, sex, birth_date, consent_date, childbearing_potential, name, mrn)
        or the planned cycle 1 day 1 (planned_c1d1: a plan, so changing or clearing it needs no reason)."""
        allowed = {"initials", "sex", "birth_date", "consent_date", "childbearing_potential", "name", "mrn",
                   "planned_c1d1"}
        for key in fields:
            if key not in allowed:
                raise InputError(subject_id, key, "cannot be edited here")
        return self._update(subject_id, "edit_subject", reason, lambda s: replace(s, **fields))

    @requires("subjects")
    def enroll(self, subject_id: str, c1d1: dt.date, reason: str | None = None) -> Change:
        """Record (or move) cycle 1 day 1, the first dose. The enrollment cap applies."""
        return self._update(subject_id, "enroll", reason, lambda s: replace(s, c1d1=c1d1))

    @requires("subjects")
    def screen_fail(self, subject_id: str, date: dt.date, why: str, reason: str | None = None) -> Change:
        return self._update(subject_id, "screen_failure", reason,
                            lambda s: replace(s, screen_failure_date=date, screen_failure_reason=why))

    @requires("subjects")
    def end_treatment(self, subject_id: str, last_dose: dt.date, why: str, reason: str | None = None) -> Change:
        return self._update(subject_id, "end_treatment", reason,
                            lambda s: replace(s, last_dose=last_dose, end_of_treatment_reason=why))

    @requires("subjects")
    def record_event(self, subject_id: str, kind: str, date: dt.date, reason: str | None = None) -> Change:
        if kind not in self.protocol.events:
            raise InputError(subject_id, "event", f"{kind!r} must be one of: {', '.join(self.protocol.events)}")
        return self._update(subject_id, f"event_{kind}", reason, lambda s: replace(s, events={**s.events, kind: date}))

    @requires("subjects")
    def set_steroid(self, subject_id: str, drug: str, dose_mg: float, days: list[int], reason: str | None = None) -> Change:
        return self._update(subject_id, "set_steroid", reason,
                            lambda s: replace(s, steroid=Steroid(drug, dose_mg, tuple(days))))

    @requires("subjects")
    def change_dose(self, subject_id: str, drug: str, level: int, from_cycle: int, reason: str | None = None) -> Change:
        def apply(s: Subject) -> Subject:
            kept = tuple(c for c in s.dose_changes if (c.drug, c.from_cycle) != (drug, from_cycle))
            return replace(s, dose_changes=in_order(kept + (DoseChange(drug, level, from_cycle),)))
        return self._update(subject_id, "dose_change", reason, apply)

    # -- writes: visits and procedures -------------------------------------------------------
    @requires("subjects")
    def record_visit(self, subject_id: str, visit: str, date: dt.date, notes: str = "", reason: str | None = None) -> Change:
        self._visit_ref(subject_id, visit)
        if visit == FIRST_DOSE:
            return self.enroll(subject_id, date, reason)
        return self._update(subject_id, "record_visit", reason, lambda s: replace(
            s, visits={**s.visits, visit: VisitRecord(visit, date, False, "", notes)}))

    @requires("subjects")
    def miss_visit(self, subject_id: str, visit: str, why: str, reason: str | None = None) -> Change:
        self._visit_ref(subject_id, visit)
        if visit == FIRST_DOSE:
            raise InputError(subject_id, "visit", "cycle 1 day 1 is the first dose and cannot be missed")
        return self._update(subject_id, "miss_visit", reason, lambda s: replace(
            s, visits={**s.visits, visit: VisitRecord(visit, None, True, why)}))

    @requires("subjects")
    def add_unscheduled(self, subject_id: str, date: dt.date, notes: str = "") -> tuple[Change, str]:
        """Record the next unscheduled visit (UNS1, UNS2, ...); returns its code. The number is
        taken inside the write transaction, so two at once cannot get the same one."""
        prefix = self.protocol.unscheduled_code
        codes = []

        def apply(s: Subject) -> Subject:
            codes.append(f"{prefix}{latest_number(self.protocol, s, prefix) + 1}")
            return replace(s, visits={**s.visits, codes[-1]: VisitRecord(codes[-1], date, False, "", notes)})
        change = self._update(subject_id, "unscheduled_visit", None, apply)
        return change, codes[-1]

    @requires("subjects")
    def tick(self, subject_id: str, visit: str, procedure: str, status: str = "done",
             date: dt.date | None = None, why: str = "", reason: str | None = None) -> Change:
        """Mark a checklist item done / not_done (with why) / not_applicable, or ``requested``."""
        self._visit_ref(subject_id, visit)
        # No date given: it counts as done on the visit's date (see checklist.screening_checks).
        record = ProcedureRecord(visit, procedure, status, date, why)
        return self._update(subject_id, "tick", reason, lambda s: replace(
            s, procedures={**s.procedures, (visit, procedure): record}))

    @requires("subjects")
    def request(self, subject_id: str, visit: str, procedure: str) -> Change:
        return self.tick(subject_id, visit, procedure, status="requested")

    @requires("subjects")
    def clear_tick(self, subject_id: str, visit: str, procedure: str, reason: str | None = None) -> Change:
        """Take back a tick made on the wrong item: the item is to do again. Removing a recorded
        tick is a correction, so it needs a reason (the audit trail keeps the old value)."""
        self._visit_ref(subject_id, visit)

        def apply(s: Subject) -> Subject:
            if (visit, procedure) not in s.procedures:
                raise InputError(subject_id, "procedure", f"{procedure} has no tick at {visit} to clear")
            return replace(s, procedures={k: v for k, v in s.procedures.items() if k != (visit, procedure)})
        return self._update(subject_id, "clear_tick", reason, apply)

    # -- import / export ------------------------------------------------------------------------
    @requires("import")
    def import_file(self, path: str | Path) -> Change:
        """All or nothing: every subject is checked before anything is written."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(None, str(path), "no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(None, str(path), f"cannot be read ({exc})") from None
        except json.JSONDecodeError as exc:
            raise InputError(None, str(path), f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        except RecursionError:
            raise InputError(None, str(path), "is nested too deeply to be a subjects file") from None
        with _bulk():
            subjects = transfer.subjects_from_document(document)
            return self.import_subjects(subjects, source=Path(path).name)

    @requires("import")
    def import_subjects(self, subjects: list[Subject], source: str = "import", action: str = "import") -> Change:
        """Add new subjects, all or nothing: each is checked, and the cap counted, inside the
        write transaction, so a concurrent writer cannot slip in between check and save."""
        with self.store.write(self.user, action) as tx:
            existing = set(self.store.subject_ids())
            plans = []
            for subject in subjects:
                if subject.id in existing:
                    raise InputError(subject.id, "id", "a subject with this id already exists in the database")
                plans.append(check_subject(self.protocol, subject, self.today))
            self._check_cap([s for s in subjects if s.c1d1 is not None])
            for subject, plan in zip(subjects, plans):
                self._save(tx, subject, plan)
                tx.audit(subject.id, "subject", None, transfer.subject_to_json(subject))
            if action == "import":
                tx.audit(None, "import", None, f"{len(subjects)} subjects from {source}")
        return Change(action, tuple(s.id for s in subjects))

    @requires("export")
    def export_document(self) -> dict:
        return {"format": transfer.FORMAT, "study": self.protocol.code,
                "subjects": [transfer.subject_to_json(s) for s in self.store.load_subjects()]}

    @requires("export")
    def export_file(self, path: str | Path) -> int:
        """Every subject to a JSON file; the file appears under its name only with its audit row."""
        self.check_output(path, "Nothing was exported.")  # before the subjects are read
        document = self.export_document()
        data = transfer.document_text(document).encode("utf-8")
        self._save_with_audit(path, data, "export", None, f"{len(document['subjects'])} subjects to {Path(path).name}",
                              "Nothing was exported.")
        return len(document["subjects"])

    @requires("read")
    def check_output(self, path: str | Path, nothing: str = "Nothing was saved.") -> Path:
        """``path`` as a file the app may write out (a form, an export), checked before anything is
        made for it: not a folder, in a folder that exists, not the database itself (or one of its
        working files). An existing file there is replaced (``_save_with_audit``)."""
        from coordinator.db import backup as backup_mod
        target = Path(path)
        if not target.name or target.is_dir():
            raise CoordinatorError(f"{target} is a folder, not a file name: give the name of the file to write. {nothing}")
        if backup_mod.is_live_file(self.store.conn, self.store.path, target):
            raise CoordinatorError(f"{target} is the study's database (or one of its working files): choose another "
                                   f"file name. {nothing}")
        if not target.parent.is_dir():
            raise CoordinatorError(f"Cannot write {target}: the folder {target.parent} does not exist. {nothing}")
        return target

    def _save_with_audit(self, path: str | Path, data: bytes, action: str, subject_id: str | None, what: str,
                         nothing: str) -> None:
        """Every file the app writes out (forms, exports): whole, and only with its audit row. It is
        written as '.part' and takes its name inside the row's transaction: a failed rename, no
        row; a row that cannot be saved after the rename (a full disk at the commit), the file taken
        away again, and an older file of that name with it. A path ``check_output`` refuses is
        refused first."""
        target = self.check_output(path, nothing)
        tmp = target.with_name(target.name + ".part")
        renamed = False
        try:
            tmp.write_bytes(data)
            with self.store.write(self.user, action) as tx:
                tx.audit(subject_id, action, None, what)
                tmp.replace(target)
                renamed = True
        except OSError as exc:
            raise failure_error(exc, target, nothing, new_file=True) or CoordinatorError(
                f"Cannot write {target}: {exc.strerror or exc}. {nothing}") from None
        except BaseException:
            if renamed:  # no row: no file
                target.unlink(missing_ok=True)
            raise
        finally:
            tmp.unlink(missing_ok=True)

    # -- internals ---------------------------------------------------------------------------------
    def _visit_ref(self, subject_id: str, visit: str) -> VisitRef:
        ref = self.protocol.parse_visit(visit)
        if ref is None:
            raise InputError(subject_id, "visit", f"{visit!r} is not a visit of this protocol")
        return ref

    def _check_cap(self, starting: list[Subject]) -> None:
        """The cap counts everyone who ever started cycle 1, already stored or starting now."""
        started = self.store.count_started()
        cap = self.protocol.enrollment_cap
        for subject in starting:
            if started >= cap:
                raise InputError(subject.id, "c1d1", f"enrollment is full: {started} of {cap} subjects have "
                                 f"already started cycle 1 (the protocol's cap is {cap}); nothing was saved")
            started += 1

    def _update(self, subject_id: str, action: str, reason: str | None, apply) -> Change:
        """Change one subject's facts: load, apply, check and save in one write transaction."""
        with self.store.write(self.user, action) as tx:
            old = self._subject(subject_id)
            try:
                new = apply(old)
            except TypeError as exc:  # an unknown field name reached replace()
                raise InputError(subject_id, "", str(exc)) from None
            diffs = _diff(transfer.subject_to_json(old), transfer.subject_to_json(new))
            if not diffs:
                return Change(action, nothing=True)
            corrections = [d for d in diffs if _is_correction(*d)]
            if corrections and not (reason and reason.strip()):
                field_name = corrections[0][0]
                raise CorrectionNeedsReason(subject_id, field_name, f"already recorded as {_show(corrections[0][1])}: "
                                 "a correction needs a reason (--reason)")
            plan = check_subject(self.protocol, new, self.today)
            if old.c1d1 is None and new.c1d1 is not None:
                self._check_cap([new])
            self._save(tx, new, plan)
            for field_name, before, after in diffs:
                tx.audit(subject_id, field_name, before, after,
                         reason if _is_correction(field_name, before, after) else None)
        return Change(action, (subject_id,))

    def _save(self, tx: Transaction, subject: Subject, plan: list[PlannedVisit]) -> None:
        tx.save_subject(subject)
        tx.save_plan(subject.id, plan)


def default_backup_folder(path: str | Path) -> Path:
    """Where automatic backups go unless the user chose a folder: 'backups' beside the database."""
    from coordinator.db import backup as backup_mod
    return backup_mod.default_backup_folder(Path(path))


def last_good_backup(path: str | Path, folder: str | Path | None = None):
    """(file, report) of the newest automatic backup of the database at ``path`` that passes its
    check, in ``folder`` (default: ``default_backup_folder``); None when there is none."""
    from coordinator.db import backup as backup_mod
    path = Path(path)
    return backup_mod.last_good_backup(Path(folder) if folder else backup_mod.default_backup_folder(path), path.stem)


def restore_damaged(path: str | Path, backup: str | Path, user: str | None = None, log_in=None):
    """Put a verified backup in place of a database that cannot be opened (damaged, or not a
    coordinator database); the unusable file is kept beside it, renamed '.before-restore-<time>'.
    The damaged file's accounts cannot be read, so the backup's decide: where it has accounts,
    ``log_in(service)`` logs in on (a copy of) it, and the account must be one that may restore."""
    from coordinator.db import backup as backup_mod
    path, backup = Path(path), Path(backup)
    copy = backup_mod.working_copy(backup, path.parent)
    try:
        return _restore_with_row(copy, backup.name, path, user or _os_user(),
                                 "the database could not be opened; it is kept beside it, renamed .before-restore-<time>",
                                 log_in=log_in)
    finally:
        backup_mod.remove_with_side_files(copy[0])


def _open_store(path: str | Path, migrate: bool = True, known: Protocol | None = None) -> tuple[Store, Protocol]:
    """The store at ``path`` and the protocol stored in it: ``known`` when that is the one stored
    (parsing and checking a protocol takes a few milliseconds, a worker thread's read as long again)."""
    store = Store(path, migrate=migrate)
    text = store.meta("protocol_text")
    if text is None:
        store.close()
        raise StoreError(f"{path} holds no protocol: it was not created by 'coordinator init'.")
    source = f"{store.meta('protocol_source')} (stored in {path})"
    if known is not None and known.text == text and known.source == source:
        return store, known
    return store, protocol_mod.loads(text, source=source)


def _restore_with_row(copy, name: str, path: Path, user: str, why: str, log_in=None, before=None, checked=False):
    """The restore itself: the working copy (``backup.working_copy``: its file and what the backup
    ``name`` held) gets the restore's audit row, then goes in place of ``path`` in one step
    (``backup.restore``: nothing changes when it fails). ``checked``: the caller's permission was
    checked already, and the row is ``user``'s; else the copy's own accounts decide
    (``log_in(service)``). ``before()`` runs just before the copy goes in place."""
    from coordinator.db import backup as backup_mod
    file, held = copy
    service = Service.open(file, user=user)
    try:
        if not checked:
            if service.needs_log_in() and (log_in is None or not log_in(service)):
                raise AccessDenied("The backup has accounts: log in to restore it (an admin's account).")
            service.require("restore")
        with service.store.write(service.user, "restore") as tx:
            tx.audit(None, "restore", None, f"from {name}: {held.subjects} subjects, audit #{held.audit_rows} "
                     f"head {held.audit_head[:16]}", why)
    finally:
        service.close()
    if before is not None:
        before()
    return backup_mod.restore(file, path)


def _diff(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """Field-level differences between two exported subjects; list fields compare item by item."""
    out = []
    keyed = {"visits": lambda x: x["visit"], "procedures": lambda x: f"{x['visit']}.{x['procedure']}",
             "events": lambda x: x["type"], "dose_changes": lambda x: f"{x['drug']}.from_cycle_{x['from_cycle']}"}
    for key in sorted(set(old) | set(new), key=lambda k: list(new).index(k) if k in new else 99):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key in keyed:
            name = keyed[key]
            a_items = {name(x): x for x in a or []}
            b_items = {name(x): x for x in b or []}
            for item in sorted(set(a_items) | set(b_items)):
                if a_items.get(item) != b_items.get(item):
                    out.append((f"{key}.{item}", a_items.get(item), b_items.get(item)))
        else:
            out.append((key, a, b))
    return out


def _is_correction(field_name: str, before, after) -> bool:
    """Changing or removing something already recorded; adding to it (a date to a tick) is not,
    nor is changing a plan (``PLANS``)."""
    if before is None or field_name in PLANS:
        return False
    if isinstance(before, dict) and isinstance(after, dict):
        return any(after.get(key) != value for key, value in before.items())
    return True


def _hide_identity(row: AuditRow) -> AuditRow:
    """The row with names and MRNs replaced by ``accounts.HIDDEN``."""
    def hide(value: str | None, field_name: str | None) -> str | None:
        if value is None:
            return None
        if field_name in ("name", "mrn"):
            return accounts_mod.HIDDEN
        if field_name == "subject" and value.startswith("{"):
            facts = json.loads(value)
            for key in ("name", "mrn"):
                if facts.get(key) is not None:
                    facts[key] = accounts_mod.HIDDEN
            return json.dumps(facts, sort_keys=True, separators=(",", ":"))
        return value
    reason = row.reason
    if reason and row.field in ("name", "mrn", "subject"):  # a correction's reason may quote the value
        reason = accounts_mod.HIDDEN
    return replace(row, old=hide(row.old, row.field), new=hide(row.new, row.field), reason=reason)


def _show(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if k not in ("visit", "procedure"))
    return str(value)


@contextlib.contextmanager
def _bulk():
    """Pause the cyclic garbage collector while an import builds hundreds of thousands of small
    acyclic records: its collections otherwise double the time. Reference counting still frees."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (some containers)
        return "unknown"
