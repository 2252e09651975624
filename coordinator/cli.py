"""The command line: ``coordinator [--db FILE] [--user NAME] COMMAND``.

Bad input exits 2 with one line on stderr naming the subject and the field;
success exits 0. Dates are ISO ``YYYY-MM-DD``; ``--on`` defaults to today.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import getpass
import json
import os
import sys
from pathlib import Path

from coordinator import __version__
from coordinator import protocol as protocol_mod
from coordinator.accounts import ROLES
from coordinator.dates import display, display_window, parse_iso
from coordinator.errors import AccessDenied, CoordinatorError, DamagedDatabase, InputError
from coordinator.model import Subject
from coordinator.service import Service, default_backup_folder, last_good_backup, restore_damaged

STATUS_MARK = {"done": "✓", "due": "●", "overdue": "▲", "missed": "✕", "planned": "○", "cancelled": "–",
               "upcoming": "○", "pending": "☐", "not_done": "✕", "not_applicable": "–"}


def default_db_path() -> Path:
    """``COORDINATOR_DB``, else the per-user data folder of this operating system."""
    if os.environ.get("COORDINATOR_DB"):
        return Path(os.environ["COORDINATOR_DB"])
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "coordinator" / "coordinator.db"


# The services a command opened: closed when it ends, even when main() runs inside another
# program (the tests): a connection left to the garbage collector checkpoints its WAL whenever it
# is collected, into whatever file then has that name.
_OPENED: list[Service] = []


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(window_only=_opens_window(argv)).parse_args(argv)
    try:
        return _run(args)
    finally:
        while _OPENED:
            _OPENED.pop().close()


def _run(args) -> int:
    try:
        _parse_dates(args)
        return args.run(args) or 0
    except CoordinatorError as exc:
        print(f"coordinator: error: {_one_line(exc)}{_way_out(exc, args)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a command that stopped reading (| head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("coordinator: interrupted; nothing more was saved", file=sys.stderr)
        return 130


def _way_out(exc: CoordinatorError, args) -> str:
    """For a damaged or foreign database: the last good automatic backup, and how to restore it."""
    if not isinstance(exc, DamagedDatabase) or getattr(args, "run", None) is cmd_restore:
        return ""
    path = _db_path(args)
    found = last_good_backup(path)
    if found is None:
        return f" No good backup was found in {default_backup_folder(path)}."
    backup, report = found
    return (f" The last good backup is {backup} ({report.subjects} subjects, taken {report.taken_at}):"
            f" restore it with 'coordinator --db {path} restore {backup}'.")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


# -- argument types ----------------------------------------------------------------------------------
class _DateText(str):
    """A date argument as typed; parsed after argparse, when the subject it belongs to is known."""

    field = "date"

    @classmethod
    def of(cls, field: str):
        return type(f"_DateText_{field}", (cls,), {"field": field})


def _parse_dates(args) -> None:
    """Turn every date argument into a ``date``, or fail naming the subject and the field."""
    for name, value in vars(args).items():
        if isinstance(value, _DateText):
            try:
                setattr(args, name, parse_iso(str(value)))
            except ValueError as exc:
                raise InputError(getattr(args, "subject", None), value.field, str(exc)) from None


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _yes_no(text: str) -> bool:
    if text.lower() in ("yes", "y", "true", "1"):
        return True
    if text.lower() in ("no", "n", "false", "0"):
        return False
    raise argparse.ArgumentTypeError("must be yes or no")


def _days_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be cycle days separated by commas, such as 1,8,15,22") from None


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (exit 2) like every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _opens_window(argv: list[str]) -> bool:
    """Whether the command line only opens the window: ``[--db FILE] [--user NAME] [open [--demo]
    [--smoke]]``. It is then parsed with the 'open' command alone, which parses it the same way
    (argparse takes some 5 ms to build every command's parser: a faster start)."""
    words, rest = [], list(argv)
    while rest:
        word = rest.pop(0)
        if word in ("--db", "--user") and rest:
            rest.pop(0)
        elif not word.startswith(("--db=", "--user=")):
            words.append(word)
    return words[:1] in ([], ["open"]) and set(words[1:]) <= {"--demo", "--smoke"}


def build_parser(window_only: bool = False) -> argparse.ArgumentParser:
    """Every command's parser; ``window_only``: the 'open' command's alone (``_opens_window``)."""
    p = _Parser(prog="coordinator", description="Visit schedules, checklists and forms for a clinical trial site.")
    p.add_argument("--db", type=Path, help="database file (default: $COORDINATOR_DB or the per-user data folder)")
    p.add_argument("--user", help="the account to log in as, where the database has accounts (default: $COORDINATOR_USER); "
                   "without accounts, the name the audit trail records (default: the operating-system user)")
    p.add_argument("--version", action="version", version=f"coordinator {__version__}")
    p.set_defaults(run=cmd_open)
    sub = p.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, func, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.set_defaults(run=func)
        return c

    c = command("open", cmd_open, "open the desktop window (the default when no command is given)")
    c.add_argument("--demo", action="store_true", help="when there is no database yet, create the demo instead of asking")
    c.add_argument("--smoke", action="store_true", help="quit as soon as the window is up (start-up check and timing)")
    if window_only:
        return p

    on_help = "the day to look at (YYYY-MM-DD, default today)"
    reason_help = "why an already-recorded value is being corrected (required for corrections)"

    c = command("init", cmd_init, "create a new study database from a protocol file")
    c.add_argument("--protocol", type=Path, help="protocol TOML file (default: the bundled SEL-LEN-MM study)")
    command("demo", cmd_demo, "create a database of synthetic demo subjects dated around today")
    c = command("protocol", cmd_protocol, "show the study protocol the database (or the app) uses")
    c.add_argument("--json", action="store_true")
    c.add_argument("--file", type=Path, help="check and show this protocol file instead")
    c = command("import", cmd_import, "import subjects from a coordinator-subjects/1 JSON file (all or nothing)")
    c.add_argument("file", type=Path)
    c = command("export", cmd_export, "export every subject to a JSON file that re-imports to the same state")
    c.add_argument("file", type=Path)
    c = command("due", cmd_due, "overdue, due and upcoming visits across subjects (planned first doses too), most urgent first")
    c.add_argument("--on", type=_DateText.of("on"), help=on_help)
    c.add_argument("--days", type=_nonneg_int, default=7, help="list visits whose window opens within N days (default 7)")
    c.add_argument("--json", action="store_true")
    c = command("timeline", cmd_timeline, "every visit of a subject with its window and status")
    c.add_argument("subject")
    c.add_argument("--on", type=_DateText.of("on"), help=on_help)
    c.add_argument("--json", action="store_true")
    c = command("checklist", cmd_checklist, "the procedures of one visit for a subject")
    c.add_argument("subject")
    c.add_argument("visit")
    c.add_argument("--json", action="store_true")
    c = command("subjects", cmd_subjects, "the subject registry")
    c.add_argument("--on", type=_DateText.of("on"), help=on_help)
    c.add_argument("--json", action="store_true")

    c = command("add-subject", cmd_add_subject, "register a consented subject")
    c.add_argument("subject")
    c.add_argument("--initials", required=True)
    c.add_argument("--sex", required=True, choices=["F", "M"])
    c.add_argument("--birth-date", required=True, type=_DateText.of("birth_date"))
    c.add_argument("--consent-date", required=True, type=_DateText.of("consent_date"))
    c.add_argument("--childbearing-potential", type=_yes_no, metavar="yes|no",
                   help="female of child-bearing potential (pregnancy tests follow)")
    c.add_argument("--name", help="full name, printed on requisitions only")
    c.add_argument("--mrn", help="medical record number, printed on requisitions only")
    c.add_argument("--planned-c1d1", type=_DateText.of("planned_c1d1"), help="the planned first dose (a plan, not a record)")
    c = command("edit-subject", cmd_edit_subject, "correct a subject's registration details")
    c.add_argument("subject")
    c.add_argument("--initials")
    c.add_argument("--sex", choices=["F", "M"])
    c.add_argument("--birth-date", type=_DateText.of("birth_date"))
    c.add_argument("--consent-date", type=_DateText.of("consent_date"))
    c.add_argument("--childbearing-potential", type=_yes_no, metavar="yes|no")
    c.add_argument("--name")
    c.add_argument("--mrn")
    c.add_argument("--planned-c1d1", type=_DateText.of("planned_c1d1"),
                   help="the planned first dose (a plan: changing it needs no reason)")
    c.add_argument("--reason", help=reason_help)
    c = command("enroll", cmd_enroll, "record cycle 1 day 1 (the first dose), or move it")
    c.add_argument("subject")
    c.add_argument("date", type=_DateText.of("c1d1"))
    c.add_argument("--reason", help=reason_help)
    c = command("screen-fail", cmd_screen_fail, "record that a subject failed screening")
    c.add_argument("subject")
    c.add_argument("date", type=_DateText.of("screen_failure.date"))
    c.add_argument("why", metavar="REASON", help="why the subject failed screening")
    c.add_argument("--reason", help=reason_help)
    c = command("record-visit", cmd_record_visit, "record the date a visit took place")
    c.add_argument("subject")
    c.add_argument("visit")
    c.add_argument("date", type=_DateText.of("date"))
    c.add_argument("--notes", default="")
    c.add_argument("--reason", help=reason_help)
    c = command("miss-visit", cmd_miss_visit, "record that a visit was missed, and why")
    c.add_argument("subject")
    c.add_argument("visit")
    c.add_argument("why", metavar="REASON", help="why the visit was missed")
    c.add_argument("--reason", help=reason_help)
    c = command("unscheduled-visit", cmd_unscheduled, "record an unscheduled visit (never moves the plan)")
    c.add_argument("subject")
    c.add_argument("date", type=_DateText.of("date"))
    c.add_argument("--notes", default="")
    c = command("tick", cmd_tick, "mark a procedure of a visit done, not done or not applicable")
    c.add_argument("subject")
    c.add_argument("visit")
    c.add_argument("procedure", help="procedure id (see 'coordinator checklist')")
    c.add_argument("--status", default="done", choices=["done", "not_done", "not_applicable"])
    c.add_argument("--date", type=_DateText.of("date"), help="when it was done, if not on the visit's date")
    c.add_argument("--why", default="", help="why it was not done / not applicable")
    c.add_argument("--reason", help=reason_help)
    c = command("request", cmd_request, "request an on-request procedure (e.g. marrow to confirm CR) at a visit")
    c.add_argument("subject")
    c.add_argument("visit")
    c.add_argument("procedure")
    c = command("clear-tick", cmd_clear_tick, "take back a tick made on the wrong item (a correction: needs --reason)")
    c.add_argument("subject")
    c.add_argument("visit")
    c.add_argument("procedure")
    c.add_argument("--reason", help=reason_help)
    c = command("end-treatment", cmd_end_treatment, "record the last dose of study drug and why treatment ended")
    c.add_argument("subject")
    c.add_argument("last_dose", type=_DateText.of("last_dose"))
    c.add_argument("why", metavar="REASON", help="progression, toxicity, withdrawal, death, investigator_decision, completed, other")
    c.add_argument("--reason", help=reason_help)
    c = command("event", cmd_event, "record progression, alternate therapy, death or withdrawal of consent")
    c.add_argument("subject")
    c.add_argument("type", metavar="TYPE", help="progression, alternate_therapy, death or withdrawal")
    c.add_argument("date", type=_DateText.of("date"))
    c.add_argument("--reason", help=reason_help)
    c = command("set-steroid", cmd_set_steroid, "set the subject's steroid (as in their last lenalidomide regimen; "
                "'none' when it had no steroid)")
    c.add_argument("subject")
    c.add_argument("drug", help="a steroid of the protocol, or none")
    c.add_argument("dose_mg", type=float, nargs="?", default=0.0)
    c.add_argument("days", type=_days_list, nargs="?", default=[], help="cycle days, e.g. 1,8,15,22")
    c.add_argument("--reason", help=reason_help)
    c = command("change-dose", cmd_change_dose, "change a drug's dose level from a cycle on")
    c.add_argument("subject")
    c.add_argument("drug")
    c.add_argument("level", type=int)
    c.add_argument("--from-cycle", type=int, required=True)
    c.add_argument("--reason", help=reason_help)
    c = command("audit", cmd_audit, "list the audit trail, or check its hash chain ('audit verify')")
    c.add_argument("verify", nargs="?", choices=["verify"],
                   help="check every row against the hash chain; exits 1 and says where it breaks")
    c.add_argument("--subject")
    c.add_argument("--json", action="store_true")
    c = command("sign", cmd_sign, "sign off a recorded visit (investigators; asks for the password again)")
    c.add_argument("subject")
    c.add_argument("visit")
    c.add_argument("--meaning", default="reviewed and approved", help="what the signature means (default: %(default)s)")

    c = command("user", None, "manage accounts: the first one added is an admin, and from then on every command "
                "needs --user and a password")
    users = c.add_subparsers(title="actions", metavar="ACTION", parser_class=_Parser, required=True)
    u = users.add_parser("add", help="add an account (its password from the terminal, or $COORDINATOR_NEW_PASSWORD)")
    u.set_defaults(run=cmd_user_add)
    u.add_argument("name")
    u.add_argument("--role", choices=ROLES,
                   help="what the account may do (the first account is an admin)")
    u.add_argument("--display-name", help="the person's name as shown and printed on signatures (default: NAME)")
    u = users.add_parser("list", help="every account, disabled ones too")
    u.set_defaults(run=cmd_user_list)
    u.add_argument("--json", action="store_true")
    u = users.add_parser("disable", help="disable an account (accounts are never deleted, names never reused)")
    u.set_defaults(run=cmd_user_disable)
    u.add_argument("name")
    u = users.add_parser("enable", help="enable a disabled account again")
    u.set_defaults(run=cmd_user_enable)
    u.add_argument("name")
    u = users.add_parser("password", help="set an account's password (admins: anyone's; everyone: their own)")
    u.set_defaults(run=cmd_user_password)
    u.add_argument("name")

    c = command("print", None, "make a form as a PDF file: a lab requisition, a dosing form, or the day's packet")
    forms = c.add_subparsers(title="forms", metavar="FORM", parser_class=_Parser, required=True)
    f = forms.add_parser("requisition", help="the lab requisition of a visit (one page per destination)")
    f.set_defaults(run=cmd_print_requisition)
    f.add_argument("subject")
    f.add_argument("visit")
    f.add_argument("--on", type=_DateText.of("on"), help="the collection day if the visit has no date yet (default today)")
    f.add_argument("-o", "--output", type=Path, required=True, help="the PDF file to write")
    f = forms.add_parser("dosing", help="the dosing calendar of a cycle")
    f.set_defaults(run=cmd_print_dosing)
    f.add_argument("subject")
    f.add_argument("cycle", type=_positive_int)
    f.add_argument("-o", "--output", type=Path, required=True, help="the PDF file to write")
    f = forms.add_parser("day", help="every requisition and day-1 dosing form due on a day, in dashboard order")
    f.set_defaults(run=cmd_print_day)
    f.add_argument("--on", type=_DateText.of("on"), help=on_help)
    f.add_argument("-o", "--output", type=Path, required=True, help="the PDF file to write")

    c = command("backup", cmd_backup, "a verified copy of the database (SQLite's online backup API), safe while the app is open")
    c.add_argument("file", type=Path, help="the backup file to write (replaced if it exists)")
    c = command("restore", cmd_restore, "replace the database's content with a verified backup (asks first; "
                "the current content is backed up beforehand)")
    c.add_argument("file", type=Path, help="the backup to restore")
    c.add_argument("--yes", action="store_true", help="do not ask (needed where there is no terminal)")

    c = command("site", cmd_site, "show or set the site's name, as the forms print it")
    c.add_argument("name", nargs="?")
    return p


# -- helpers ---------------------------------------------------------------------------------------
def _db_path(args) -> Path:
    return args.db or default_db_path()


def _open(args) -> Service:
    """The study database, logged in where it has accounts: ``--user`` (or $COORDINATOR_USER) and
    the password from the terminal, or from $COORDINATOR_PASSWORD when there is no terminal."""
    service = _opened(Service.open(_db_path(args), user=args.user))
    if service.needs_log_in():
        _log_in(service, args, "This database has accounts")
    return service


def _opened(service: Service) -> Service:
    """``service``, to be closed when the command ends (``_OPENED``)."""
    _OPENED.append(service)
    return service


def _log_in(service: Service, args, why: str, whose: str = "") -> None:
    name = args.user or os.environ.get("COORDINATOR_USER")
    if not name:
        raise AccessDenied(f"{why}: give --user NAME (or set COORDINATOR_USER).")
    service.log_in(name, _password(f"Password for {name}{whose}: ", "COORDINATOR_PASSWORD"))


def _password(prompt: str, variable: str, twice: bool = False) -> str:
    """A password from the terminal (not echoed), or from ``variable`` when there is no terminal."""
    if sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if twice and getpass.getpass("Again, to be sure: ") != password:
            raise InputError(None, "password", "the two passwords differ; nothing was changed")
        return password
    if variable in os.environ:
        return os.environ[variable]
    raise AccessDenied(f"No terminal to ask for the password: set {variable}.")


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _short(day: dt.date) -> str:
    return display(day)[:6]


# -- commands --------------------------------------------------------------------------------------------
def has_display() -> bool:
    """Whether a window can open: on Linux and the BSDs that needs X11 or Wayland, unless a Qt
    platform (offscreen, vnc...) was chosen explicitly."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def cmd_open(args) -> int:
    """No command (or 'open'): open the desktop window. Where there is no display, say so and
    print today's due list instead, creating a demo database first when there is none."""
    path = _db_path(args)
    demo_if_new = getattr(args, "demo", False)
    if has_display():
        from coordinator.ui.app import run  # only here: the command line itself never loads Qt
        return run(path, args.user, first_run="demo" if demo_if_new else "ask", smoke=getattr(args, "smoke", False))
    print("No display here (neither DISPLAY nor WAYLAND_DISPLAY is set), so the window cannot open. "
          "Today's due list instead:\n")
    if path.exists():
        service = _open(args)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CoordinatorError(f"Cannot create the folder {path.parent}: {exc.strerror or exc}.") from None
        service = _create_demo(path, args.user)
        print(f"No database at {path}: created a demo database of synthetic subjects.\n")
    print(f"Study {service.protocol.code}  ·  {display(service.today, weekday=True)}  ·  {path}")
    _print_due(service.due(service.today, 7), service.today)
    print("\n(See 'coordinator --help' for every command.)")
    return 0


def cmd_init(args) -> int:
    path = _db_path(args)
    service = _opened(Service.create(path, args.protocol, user=args.user))
    print(f"Created {path} for study {service.protocol.code} ({service.protocol.short_title}).")
    return 0


def _create_demo(path: Path, user: str | None) -> Service:
    from coordinator import demo  # only here: every other command starts without it
    return _opened(demo.create(path, user))


def cmd_demo(args) -> int:
    path = _db_path(args)
    service = _create_demo(path, args.user)
    print(f"Created {path} with {len(service.store.subject_ids())} synthetic demo subjects.")
    return 0


def cmd_protocol(args) -> int:
    if args.file:
        protocol = protocol_mod.load(args.file)
    elif args.db or default_db_path().exists():
        protocol = _open(args).protocol
    else:
        protocol = protocol_mod.load()
    if args.json:
        data = {k: v for k, v in dataclasses.asdict(protocol).items() if k != "text" and not k.startswith("_")}
        _print_json(data)
        return 0
    print(f"{protocol.code}: {protocol.title}")
    print(f"Enrollment cap {protocol.enrollment_cap}; {protocol.cycle_length_days}-day cycles; "
          f"{protocol.evaluation_cycles} evaluation cycles.  Source: {protocol.source}")
    print("\nSchedule of Assessments:")
    width = max(len(p) for p in protocol.schedule)
    for proc_id, patterns in protocol.schedule.items():
        proc = protocol.procedures[proc_id]
        cond = f"  [{protocol.conditions[proc.condition].label}]" if proc.condition else ""
        print(f"  {proc_id:<{width}}  {', '.join(p.text for p in patterns)}{cond}")
    print("\nAssumptions (where the synopsis is silent; site-editable):")
    for a in protocol.assumptions:
        print(f"  {a.id}: {a.text}")
    return 0


def cmd_import(args) -> int:
    service = _open(args)
    change = service.import_file(args.file)
    print(f"Imported {len(change.subject_ids)} subjects from {args.file}.")
    return 0


def cmd_export(args) -> int:
    count = _open(args).export_file(args.file)
    print(f"Exported {count} subjects to {args.file}.")
    return 0


def cmd_due(args) -> int:
    service = _open(args)
    on = args.on or service.today
    items = service.due(on, args.days)
    if args.json:
        _print_json([i.as_json() for i in items])  # a bare list: the JSON contract
    else:
        _print_due(items, on)
        _print_expiries(service.screening_expiries(on))
    return 0


def _print_expiries(expiries) -> None:
    if not expiries:
        return
    print("\nScreening items expiring before the planned cycle 1 day 1")
    for e in expiries:
        why = f"valid until {display(e.valid_until)}" if e.valid_until < e.planned_c1d1 else "too recent"
        print(f"  {e.subject:<10} planned {_short(e.planned_c1d1)}  {e.label} ({e.procedure}): done {display(e.done)}, {why}")


def _print_due(items, on: dt.date) -> None:
    if not items:
        print(f"Nothing overdue, due or upcoming on {display(on, weekday=True)}.")
        return
    heading = {"overdue": "▲ OVERDUE", "due": "● DUE", "upcoming": "○ UPCOMING"}
    current = None
    for item in items:
        if item.status != current:
            current = item.status
            print(f"\n{heading[current]}")
        if item.status == "overdue":
            when = f"{item.days} day{'s' if item.days != 1 else ''} late"
        elif item.status == "due":
            when = "window closes today" if item.days == 0 else f"closes in {item.days} d"
        else:
            when = f"opens in {item.days} d"
        window = (_short(item.window_start) if item.window_start == item.window_end
                  else f"{_short(item.window_start)} to {_short(item.window_end)}")
        print(f"  {item.subject:<10} {item.visit:<6} target {display(item.target, weekday=True)}  window {window:<16} {when}")


def cmd_timeline(args) -> int:
    service = _open(args)
    timeline = service.timeline(args.subject, args.on)
    if args.json:
        _print_json(timeline.as_json())
        return 0
    s = timeline.subject
    where = f"  cycle {timeline.cycle_day[0]} day {timeline.cycle_day[1]}" if timeline.cycle_day and timeline.status == "on_treatment" else ""
    print(f"{s.id}  {s.initials}  {s.sex}  {timeline.status.replace('_', ' ')}{where}")
    for tv in timeline.visits:
        v = tv.visit
        window = display_window(v.window_start, v.window_end, sep=" to ")
        done = f"  on {display(v.date)}" if v.date else ""
        flag = "  ! out of window" if v.out_of_window else ""
        print(f"  {STATUS_MARK[tv.status]} {v.code:<6} {tv.status:<9} target {display(v.target, weekday=True)}  window {window}{done}{flag}")
    return 0


def cmd_checklist(args) -> int:
    service = _open(args)
    checklist = service.checklist(args.subject, args.visit)
    if args.json:
        _print_json(checklist.as_json())
        return 0
    print(f"{checklist.subject}  {checklist.visit}  {checklist.label}")
    category = None
    applicable = [i for i in checklist.items if i.status != "not_applicable"]
    for item in checklist.items:
        if item.category != category:
            category = item.category
            print(f"  {item.category_label.upper()}")
        extra = [x for x in (item.condition if item.condition else "", item.reason, item.note) if x]
        print(f"    {STATUS_MARK[item.status]} {item.label}  ({item.id}){'  — ' + '; '.join(extra) if extra else ''}")
    print(f"  {sum(i.status == 'done' for i in applicable)} of {len(applicable)} done")
    return 0


def cmd_subjects(args) -> int:
    service = _open(args)
    summaries = service.subjects(args.on)
    if args.json:
        _print_json([{"subject": s.id, "initials": s.initials, "status": s.status,
                      "cycle": s.cycle_day[0] if s.cycle_day else None, "day": s.cycle_day[1] if s.cycle_day else None,
                      "next_visit": s.next_visit.code if s.next_visit else None,
                      "next_target": s.next_visit.target.isoformat() if s.next_visit else None} for s in summaries])
        return 0
    for s in summaries:
        where = f"C{s.cycle_day[0]} D{s.cycle_day[1]}" if s.cycle_day and s.status == "on_treatment" else ""
        nxt = f"{s.next_visit.code} {display(s.next_visit.target)}" if s.next_visit else ""
        print(f"  {s.id:<10} {s.initials:<4} {s.status:<13} {where:<9} {nxt}")
    return 0


def cmd_add_subject(args) -> int:
    service = _open(args)
    subject = Subject(id=args.subject, initials=args.initials, sex=args.sex, birth_date=args.birth_date,
                      consent_date=args.consent_date,
                      childbearing_potential=args.childbearing_potential,
                      name=args.name, mrn=args.mrn, planned_c1d1=args.planned_c1d1)
    service.add_subject(subject)
    print(f"Added {subject.id}.")
    return 0


def cmd_edit_subject(args) -> int:
    fields = {k: getattr(args, k) for k in ("initials", "sex", "birth_date", "consent_date", "childbearing_potential", "name", "mrn",
                                            "planned_c1d1")
              if getattr(args, k) is not None}
    if not fields:
        raise InputError(args.subject, "", "nothing to change: give at least one field")
    change = _open(args).edit_subject(args.subject, args.reason, **fields)
    print("Nothing changed." if change.nothing else f"Updated {args.subject}.")
    return 0


def cmd_enroll(args) -> int:
    _open(args).enroll(args.subject, args.date, args.reason)
    print(f"{args.subject}: cycle 1 day 1 is {display(args.date, weekday=True)}.")
    return 0


def cmd_screen_fail(args) -> int:
    _open(args).screen_fail(args.subject, args.date, args.why, args.reason)
    print(f"{args.subject}: screen failure recorded.")
    return 0


def cmd_record_visit(args) -> int:
    _open(args).record_visit(args.subject, args.visit, args.date, args.notes, args.reason)
    print(f"{args.subject}: {args.visit} done on {display(args.date, weekday=True)}.")
    return 0


def cmd_miss_visit(args) -> int:
    _open(args).miss_visit(args.subject, args.visit, args.why, args.reason)
    print(f"{args.subject}: {args.visit} recorded as missed.")
    return 0


def cmd_unscheduled(args) -> int:
    _, code = _open(args).add_unscheduled(args.subject, args.date, args.notes)
    print(f"{args.subject}: unscheduled visit {code} on {display(args.date, weekday=True)}.")
    return 0


def cmd_tick(args) -> int:
    _open(args).tick(args.subject, args.visit, args.procedure, args.status, args.date, args.why, args.reason)
    print(f"{args.subject} {args.visit}: {args.procedure} {args.status.replace('_', ' ')}.")
    return 0


def cmd_request(args) -> int:
    _open(args).request(args.subject, args.visit, args.procedure)
    print(f"{args.subject} {args.visit}: {args.procedure} requested.")
    return 0


def cmd_clear_tick(args) -> int:
    _open(args).clear_tick(args.subject, args.visit, args.procedure, args.reason)
    print(f"{args.subject} {args.visit}: {args.procedure} is to do again.")
    return 0


def cmd_end_treatment(args) -> int:
    _open(args).end_treatment(args.subject, args.last_dose, args.why, args.reason)
    print(f"{args.subject}: last dose {display(args.last_dose, weekday=True)} ({args.why}).")
    return 0


def cmd_event(args) -> int:
    _open(args).record_event(args.subject, args.type, args.date, args.reason)
    print(f"{args.subject}: {args.type.replace('_', ' ')} on {display(args.date, weekday=True)}.")
    return 0


def cmd_set_steroid(args) -> int:
    _open(args).set_steroid(args.subject, args.drug, args.dose_mg, args.days, args.reason)
    print(f"{args.subject}: {args.drug} {args.dose_mg:g} mg on days {', '.join(map(str, args.days))}.")
    return 0


def cmd_change_dose(args) -> int:
    _open(args).change_dose(args.subject, args.drug, args.level, args.from_cycle, args.reason)
    print(f"{args.subject}: {args.drug} at dose level {args.level} from cycle {args.from_cycle}.")
    return 0


def _print_form(args, make, subject: str | None = None) -> int:
    """Every 'print' command: check the output path (``Service.check_output``: a folder, a missing
    folder or the database itself is refused before the form is made), make the PDF (``make(service)``
    returns it with what it is for the audit trail and for the user), write it whole, audit it."""
    service = _open(args)
    service.check_output(args.output)
    pdf, what, done = make(service)
    service.save_form(args.output, pdf, what, subject)  # whole, and only with its audit row
    print(f"Wrote {done} to {args.output}.")
    return 0


def cmd_print_requisition(args) -> int:
    return _print_form(args, lambda service: (
        service.requisition_pdf(args.subject, args.visit, args.on), f"requisition {args.visit}",
        f"the {args.visit} requisition of {args.subject}"), args.subject)


def cmd_print_dosing(args) -> int:
    return _print_form(args, lambda service: (
        service.dosing_pdf(args.subject, args.cycle), f"dosing form cycle {args.cycle}",
        f"the cycle {args.cycle} dosing form of {args.subject}"), args.subject)


def cmd_print_day(args) -> int:
    def make(service):
        on = args.on or service.today
        visits = service.day_packet(on)
        count = f"{len(visits)} visit{'s' if len(visits) != 1 else ''}"
        return (service.day_packet_pdf(on, visits=visits), f"day packet {on.isoformat()} ({count})",
                f"the packet of {display(on, weekday=True)} ({count})")
    return _print_form(args, make)


def cmd_backup(args) -> int:
    report = _open(args).backup(args.file)
    if report.audit_problems:
        print(f"Backed up to {report.path}: {report.subjects} subjects, integrity checked. But the audit trail is "
              f"broken, in the database and so in its backup: {' '.join(report.audit_problems)}", file=sys.stderr)
        return 1
    print(f"Backed up to {report.path}: {report.subjects} subjects, {report.audit_rows} audit rows, verified "
          f"(integrity check and audit chain; head {report.audit_head}).")
    return 0


def cmd_restore(args) -> int:
    from coordinator.db import backup as backup_mod
    path = _db_path(args)
    incoming = backup_mod.check_restorable(args.file)  # a bad backup is refused before anything else
    service = None
    try:
        service = _open(args)
        backup_mod.check_study(incoming, service.protocol.code)  # and one of another study
        now = f"{path} ({len(service.initials())} subjects now; they are backed up first)"
    except DamagedDatabase as exc:
        now = f"{path}, which cannot be opened ({_one_line(exc)}; it is kept beside, renamed)"
    last = f", last change {incoming.last_change[:16].replace('T', ' ')} UTC" if incoming.last_change else ""
    question = (f"Replace {now} with the backup {args.file} (study {incoming.study or '?'}: {incoming.subjects} "
                f"subjects, {incoming.audit_rows} audit rows{last}, verified)?")
    if not args.yes:
        if not sys.stdin.isatty():
            raise InputError(None, "restore", "there is no terminal to ask: add --yes to restore. Nothing was changed.")
        if input(f"{question} Type yes to restore: ").strip().lower() != "yes":
            print("Nothing was changed.")
            return 1
    if service is not None:
        report = service.restore(args.file)
    else:
        def log_in(service: Service) -> bool:  # the backup's accounts decide who may restore it
            _log_in(service, args, "The backup has accounts (an admin's restores it)", " (as the backup knows it)")
            return True
        report = restore_damaged(path, args.file, args.user, log_in)
    print(f"Restored {path} from {args.file}: {report.subjects} subjects, the audit trail verified.")
    return 0


def cmd_site(args) -> int:
    service = _open(args)
    if args.name:
        service.set_site(args.name)
    print(service.site() or "(no site name set: 'coordinator site NAME')")
    return 0


def cmd_audit(args) -> int:
    service = _open(args)
    if args.verify:
        report = service.verify_audit()
        if args.json:
            _print_json(dataclasses.asdict(report) | {"ok": report.ok})
        else:
            print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
        return 0 if report.ok else 1
    rows = service.audit(args.subject)
    if args.json:
        _print_json([dataclasses.asdict(r) for r in rows])
        return 0
    for r in rows:
        change = f"{r.old} -> {r.new}" if r.old is not None else f"{r.new}"
        why = f"  (reason: {r.reason})" if r.reason else ""
        print(f"{r.seq:>5}  {r.at}  {r.user:<12} {r.action:<16} {r.subject_id or '':<10} {r.field or ''}: {change}{why}")
    return 0


def cmd_sign(args) -> int:
    service = _open(args)
    password = "" if service.account is None else _password(  # no account: sign_visit says why it cannot sign
        f"{service.account.display_name}, your password to sign {args.visit} of {args.subject}: ", "COORDINATOR_PASSWORD")
    service.sign_visit(args.subject, args.visit, password, args.meaning)
    print(f"{args.subject} {args.visit}: signed by {service.account.display_name} ({service.account.name}), "
          f"{' '.join(args.meaning.split())}.")
    return 0


def cmd_user_add(args) -> int:
    service = _open(args)
    first = service.single_user
    role = args.role or ("admin" if first else None)
    if role is None:
        raise InputError(None, "role", f"give --role: {', '.join(ROLES)}")
    password = _password(f"Password for the new account {args.name}: ", "COORDINATOR_NEW_PASSWORD", twice=True)
    service.add_account(args.name, role, password, args.display_name)
    print(f"Added the account {args.name} ({role}).")
    if first:
        print("This database now has accounts: every command needs --user NAME and a password from now on.")
    return 0


def cmd_user_list(args) -> int:
    accounts = _open(args).accounts()
    if args.json:
        _print_json([dataclasses.asdict(a) | {"active": a.active} for a in accounts])
        return 0
    if not accounts:
        print("No accounts: the database is in single-user mode ('coordinator user add NAME' adds the first, an admin).")
    for a in accounts:
        state = "active" if a.active else f"disabled {a.disabled_at[:10]}"
        print(f"{a.id:>4}  {a.name:<16} {a.role:<13} {state:<20} {a.display_name}")
    return 0


def cmd_user_disable(args) -> int:
    _open(args).disable_account(args.name)
    print(f"Disabled the account {args.name}: it can no longer log in (its name stays taken).")
    return 0


def cmd_user_enable(args) -> int:
    _open(args).enable_account(args.name)
    print(f"Enabled the account {args.name}.")
    return 0


def cmd_user_password(args) -> int:
    service = _open(args)
    own = service.account is not None and service.account.name.lower() == args.name.strip().lower()
    current = _password("Your current password: ", "COORDINATOR_PASSWORD") if own else None
    service.set_password(args.name, _password(f"New password for {args.name}: ", "COORDINATOR_NEW_PASSWORD", twice=True),
                         current)
    print(f"Set the password of {args.name}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
