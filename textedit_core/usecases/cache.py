"""The shared result cache for staff: its figures and clearing it (admins and moderators), and
whether a cache hit costs a token (admins)."""

from __future__ import annotations

from dataclasses import dataclass

from textedit_core.context import Services
from textedit_core.editing import cache
from textedit_core.infra.models import STAFF_ROLES, Role
from textedit_core.usecases.common import act, read


@dataclass(frozen=True)
class CacheOverview:
    stats: cache.CacheStats
    hits_cost_token: bool
    ttl_hours: int  # 0: the cache is off (TEXTEDIT_CACHE_TTL_HOURS)
    max_entries: int


def overview(svc: Services, access_token: str | None) -> CacheOverview:
    def work(session, _me) -> CacheOverview:
        return CacheOverview(
            cache.stats(session),
            cache.hits_cost_token(session),
            svc.settings.cache_ttl_hours,
            svc.settings.cache_max_entries,
        )

    return read(svc, access_token, work, *STAFF_ROLES)


def clear(svc: Services, access_token: str | None) -> int:
    """Empty the cache (audited): the next request of each kind asks the model again. The count
    of answers deleted."""
    return act(svc, access_token, lambda s, me: cache.clear(s, me.id), *STAFF_ROLES)


def set_hits_cost_token(svc: Services, access_token: str | None, costs: bool) -> bool:
    """Whether a cache hit costs a token, from the next edit on (audited)."""
    return act(svc, access_token, lambda s, me: cache.set_hits_cost_token(s, me.id, costs), Role.ADMIN)
