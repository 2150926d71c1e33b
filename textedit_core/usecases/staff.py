"""Reads for staff (admins and moderators): users, dashboard, audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from textedit_core.context import Services
from textedit_core.infra.models import STAFF_ROLES
from textedit_core.infra.paging import Page
from textedit_core.reports import audit, users
from textedit_core.reports import dashboard as figures
from textedit_core.usecases.common import read


def search_users(svc: Services, access_token: str | None, query: users.UserQuery) -> Page[users.UserRow]:
    return read(svc, access_token, lambda s, user: users.search_users(s, user.id, query), *STAFF_ROLES)


def user_detail(svc: Services, access_token: str | None, user_id: int) -> users.UserDetail:
    """One user's profile, usage, latest transactions, signed-in devices and audit entries."""
    return read(
        svc,
        access_token,
        lambda s, me: users.user_detail(s, me.id, user_id, svc.settings.lifetimes),
        *STAFF_ROLES,
    )


@dataclass(frozen=True)
class Dashboard:
    kpis: figures.Kpis
    daily: figures.Daily


def dashboard(svc: Services, access_token: str | None, date_from: date, date_to: date) -> Dashboard:
    """Headline figures and daily series of a period (UTC days, both included)."""

    def work(session, user) -> Dashboard:
        return Dashboard(
            figures.kpis(session, user.id, date_from, date_to),
            figures.daily(session, user.id, date_from, date_to),
        )

    return read(svc, access_token, work, *STAFF_ROLES)


def audit_log(
    svc: Services,
    access_token: str | None,
    *,
    action: str | None = None,
    actor_email: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> list[audit.AuditRow]:
    """The newest audit entries (up to 200) matching the filter."""

    def work(session, user) -> list[audit.AuditRow]:
        return audit.entries(
            session, user.id, action=action, actor_email=actor_email, date_from=date_from, date_to=date_to
        )

    return read(svc, access_token, work, *STAFF_ROLES)
