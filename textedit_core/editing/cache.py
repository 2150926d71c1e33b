"""The result cache shared by every app process: an identical request is answered from the
database without calling the model.

A request is identical when its operation, model, settings version and normalised text are.
Normalising the text (`normalise`) removes only what cannot change an edit: it is put in Unicode
NFC (the same letters typed or pasted as different code points), line endings become "\\n",
whitespace at the end of each line goes, and blank lines before the first line and after the
last one go. Case and spacing inside the text are kept: they are what an edit may change.

Only an answer the guard accepted is stored (with the settle that charges for it); a refused or
failed one never is. An answer is reused for `Policy.ttl` after it was made; past the cap the
oldest go. Whether a hit costs a token is an admin's switch (`hits_cost_token`, audited): by
default it does, since the result is the same product.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textedit_core.errors import ValidationError
from textedit_core.i18n import _
from textedit_core.identity.accounts import require_role
from textedit_core.infra import audit
from textedit_core.infra.coltypes import UTCDateTime, utcnow
from textedit_core.infra.models import STAFF_ROLES, AppSetting, CachedEdit, Role

# The app_settings key of the admin's switch; no row: the default, a hit costs a token.
HITS_COST_TOKEN = "cache_hits_cost_token"
_TRUE, _FALSE = "true", "false"


@dataclass(frozen=True)
class Policy:
    """How long an answer is reused and how many are kept (TEXTEDIT_CACHE_TTL_HOURS and
    TEXTEDIT_CACHE_MAX_ENTRIES)."""

    ttl_hours: int  # 0: no cache at all
    max_entries: int

    @property
    def enabled(self) -> bool:
        return self.ttl_hours > 0

    @property
    def ttl(self) -> timedelta:
        return timedelta(hours=self.ttl_hours)


@dataclass(frozen=True)
class CacheStats:
    entries: int
    hits: int  # answers served from the entries there now


def normalise(text: str) -> str:
    """The text as the cache compares it (see the module's docstring)."""
    unified = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in unified.split("\n")).strip("\n")


def key_for(operation: str, model: str, settings_version: int, text: str) -> str:
    """The request's key: the SHA-256 hex of its canonical JSON."""
    request = {
        "model": model,
        "operation": operation,
        "settings_version": settings_version,
        "text": normalise(text),
    }
    canonical = json.dumps(request, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Asked by every edit while the cache is on: a Core statement built once (its compiled form is
# cached), no ORM.
_CACHE = cast(Table, CachedEdit.__table__)
_HIT = (
    update(_CACHE)
    .where(_CACHE.c.key == bindparam("wanted"), _CACHE.c.created_at > bindparam("since", type_=UTCDateTime()))
    .values(hits=_CACHE.c.hits + 1, last_hit_at=bindparam("now", type_=UTCDateTime()))
    .returning(_CACHE.c.output)
)


def lookup(session: Session, key: str, ttl: timedelta) -> str | None:
    """The cached answer made less than `ttl` ago, counted as a hit; None on a miss."""
    now = utcnow()
    return session.execute(_HIT, {"wanted": key, "since": now - ttl, "now": now}).scalar_one_or_none()


def _insert(session: Session) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def store(
    session: Session,
    *,
    key: str,
    operation: str,
    model: str,
    settings_version: int,
    output: str,
    max_entries: int,
) -> None:
    """Keep a delivered answer (replacing an expired one, or one another process stored for the
    same request meanwhile), then drop the oldest answers past `max_entries`."""
    now = utcnow()
    fresh = {"output": output, "created_at": now, "last_hit_at": None, "hits": 0}
    statement = _insert(session)(CachedEdit).values(
        key=key, operation=operation, model=model[:128], settings_version=settings_version, **fresh
    )
    session.execute(statement.on_conflict_do_update(index_elements=[CachedEdit.key], set_=fresh))
    past_cap = (
        select(CachedEdit.key)
        .order_by(CachedEdit.created_at.desc(), CachedEdit.key.desc())
        .offset(max_entries)
    )
    session.execute(
        delete(CachedEdit).where(CachedEdit.key.in_(past_cap)).execution_options(synchronize_session=False)
    )


def _deleted(result: object) -> int:
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def prune(session: Session, ttl: timedelta) -> int:
    """Delete the answers made `ttl` ago or earlier; the count deleted."""
    return _deleted(session.execute(delete(CachedEdit).where(CachedEdit.created_at <= utcnow() - ttl)))


def clear(session: Session, actor_id: int) -> int:
    """Empty the cache (staff: admins and moderators), audited; the count deleted."""
    require_role(session, actor_id, *STAFF_ROLES)
    deleted = _deleted(session.execute(delete(CachedEdit)))
    audit.record(session, actor_id, audit.CACHE_CLEAR, {"entries": deleted})
    return deleted


def stats(session: Session) -> CacheStats:
    entries, hits = session.execute(
        select(func.count(), func.coalesce(func.sum(CachedEdit.hits), 0)).select_from(CachedEdit)
    ).one()
    return CacheStats(entries=int(entries), hits=int(hits))


def hits_cost_token(session: Session) -> bool:
    """Whether a cache hit costs a token: the admin's switch, by default yes."""
    value = session.scalar(select(AppSetting.value).where(AppSetting.key == HITS_COST_TOKEN))
    return value != _FALSE


def set_hits_cost_token(session: Session, admin_id: int, costs: bool) -> bool:
    """The admin's switch: whether a cache hit costs a token, from the next edit on; audited."""
    require_role(session, admin_id, Role.ADMIN)
    old = hits_cost_token(session)
    if costs == old:
        raise ValidationError(_("Nothing changed: that is the setting in force."))
    fresh = {"value": _TRUE if costs else _FALSE, "changed_by_id": admin_id, "changed_at": utcnow()}
    statement = _insert(session)(AppSetting).values(key=HITS_COST_TOKEN, **fresh)
    session.execute(statement.on_conflict_do_update(index_elements=[AppSetting.key], set_=fresh))
    audit.record(session, admin_id, audit.CACHE_SETTING, {"hits_cost_token": [old, costs]})
    return costs
