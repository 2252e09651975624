"""Errors a coordinator can act on.

Anything raised as a ``CoordinatorError`` is a known situation with a message
written for the person at the desk (a bad date, a duplicate subject, a locked
file). Every other exception is a bug and is shown as one.
"""


class CoordinatorError(Exception):
    """A known problem, with a message a coordinator understands."""


class ProtocolError(CoordinatorError):
    """The protocol file is unreadable or breaks a rule: names file, field, problem."""

    def __init__(self, source: str, field: str, problem: str):
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


class InputError(CoordinatorError):
    """Bad input about a subject: names the subject and the field."""

    def __init__(self, subject: str | None, field: str, problem: str):
        self.subject = subject
        self.field = field
        self.problem = problem
        parts = [p for p in (subject, field) if p]
        super().__init__(": ".join(parts + [problem]))


class StoreError(CoordinatorError):
    """The database file cannot be used as asked (locked, full, damaged...)."""


class DamagedDatabase(StoreError):
    """The file is damaged, or not a coordinator database: restoring a backup is the way out."""


class DatabaseInUse(StoreError):
    """Another program is writing to the file: nothing is wrong with it, try again in a moment."""


class CorrectionNeedsReason(InputError):
    """Changing or removing an already-recorded value without saying why (the audit trail keeps it)."""


class AccessDenied(CoordinatorError):
    """The person logged in (or nobody, where the database has accounts) may not do this."""


class LogInFailed(CoordinatorError):
    """A wrong name or password, a disabled account, or too many tries: the message says which it may say."""
