"""Accounts and roles: who may do what, and how passwords are kept.

A database with no accounts runs in single-user mode (everything allowed, the operating-system
user named in the audit trail). Its first account is an admin; from then on every action needs a
log-in, and the service checks each one against the role's permissions (not only the GUI).

Passwords are kept as scrypt hashes at OWASP's parameters (N=2**17, r=8, p=1: 128 MiB and about
a third of a second per check), from the standard library: no compiled dependency to ship. Each
hash carries its own parameters, so they can be raised later without breaking old hashes.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

ROLES = ("admin", "coordinator", "investigator", "monitor")

# What each role may do. 'identity': see and print names and MRNs (the identifying fields).
_CLINICAL = frozenset({"read", "identity", "subjects", "print", "import", "export", "audit", "backup"})
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "accounts", "settings", "audit", "backup", "restore"}),
    "coordinator": _CLINICAL,
    "investigator": _CLINICAL | {"sign"},
    "monitor": frozenset({"read", "audit"}),
}

# What a refusal says the permission is for, in a coordinator's words.
DOING = {
    "read": "read the study", "identity": "see names and medical record numbers",
    "subjects": "change subjects and visits", "print": "print forms", "import": "import subjects",
    "export": "export subjects", "audit": "read the audit trail", "backup": "make backups",
    "restore": "restore a backup", "accounts": "manage accounts", "settings": "change the study's settings",
    "sign": "sign off visits",
}

# OWASP Password Storage Cheat Sheet, scrypt: N=2^17, r=8, p=1.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 17, 8, 1
MIN_PASSWORD, MAX_PASSWORD = 10, 256
FREE_TRIES = 5  # failed log-ins in a row before each further try must wait
MAX_WAIT_S = 300
HIDDEN = "(hidden)"  # what a role without 'identity' sees instead of a name or an MRN

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,31}")


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    display_name: str
    role: str
    created_at: str
    disabled_at: str | None = None
    failed_logins: int = 0
    last_failed_at: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def may(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


def check_name(name: str) -> str | None:
    """Why this account name cannot be used, or None."""
    if not _NAME.fullmatch(name or ""):
        return "must be 1 to 32 letters, digits, dots, dashes or underscores, starting with a letter"
    return None


def check_role(role: str) -> str | None:
    return None if role in ROLES else f"{role!r} must be one of: {', '.join(ROLES)}"


def check_password(name: str, password: str) -> str | None:
    """Why this password cannot be used, or None (NIST SP 800-63B: length, not composition rules)."""
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} characters"
    if password.strip().lower() == name.lower() or not password.strip():
        return "must not be the account name, nor blank"
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not text reached us through the environment
        return "holds bytes that are not text: type it again, or set it from a terminal"
    return None


# hashlib, hmac, base64 and secrets load when a password is first checked: most starts need none.
def hash_password(password: str) -> str:
    import secrets
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def password_matches(password: str, stored: str) -> bool:
    import base64
    import hmac
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except ValueError:  # a damaged hash, or a password that is not text: it matches nothing
        return False
    return hmac.compare_digest(got, expected)


@functools.cache
def dummy_hash() -> str:
    """A hash to check an unknown name's password against, so that 'no such account' takes as long
    as 'wrong password' (the time taken must not tell which names exist)."""
    import secrets
    return hash_password(secrets.token_hex(16))


def wait_before_next_try(account: Account, now: dt.datetime) -> int:
    """Seconds still to wait before this account may try again: none for the first
    ``FREE_TRIES`` failures in a row, then 2, 4, 8... seconds after the last, up to 5 minutes."""
    if account.failed_logins < FREE_TRIES or not account.last_failed_at:
        return 0
    wait = min(2 ** (account.failed_logins - FREE_TRIES + 1), MAX_WAIT_S)
    last = dt.datetime.fromisoformat(account.last_failed_at.replace("Z", "+00:00"))
    left = (last + dt.timedelta(seconds=wait) - now).total_seconds()
    return max(0, int(left + 0.999))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
    import hashlib
    # maxmem: scrypt needs 128 * n * r * p bytes; OpenSSL's default cap (32 MiB) is below OWASP's
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r * p + 2 ** 20,
                          dklen=length)


def _b64(data: bytes) -> str:
    import base64
    return base64.b64encode(data).decode("ascii")
