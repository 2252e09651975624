"""Who is at the desk, and what the window offers them.

The service decides who may do what (``accounts.PERMISSIONS``) and refuses the rest with
``AccessDenied``; the screens grey out what the role may not do, so a monitor is not offered a
button that can only fail. They set their controls' state as usual, then call ``restrict``: one
rule, in one place, whatever each screen's own reasons for enabling a control.
"""

from __future__ import annotations

from html import escape

from coordinator.service import Service

# What a role is for, in the words the header shows after the role's name.
ROLE_WORDS = {
    "admin": "accounts and settings",
    "coordinator": "subjects and visits",
    "investigator": "subjects, visits and sign-off",
    "monitor": "read only",
}


def restrict(service: Service, permission: str, *things) -> None:
    """Disable each of ``things`` (actions, buttons, fields, shortcuts) unless the role may
    ``permission``; call it after the screen has set their state. Never enables anything."""
    if service.may(permission):
        return
    for thing in things:
        thing.setEnabled(False)


def who(service: Service, rich: bool = False) -> str:
    """'Dana Reyes (monitor, read only)', the name in bold when ``rich``; without accounts, the
    operating-system user."""
    account = service.account
    if account is None:
        name, role = (service.user, "single-user: no log-in") if service.single_user else ("nobody", "not logged in")
    else:
        name, role = account.display_name, f"{account.role}, {ROLE_WORDS.get(account.role, '')}"
    return f"<b>{escape(name)}</b> ({escape(role)})" if rich else f"{name} ({role})"
