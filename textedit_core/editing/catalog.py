"""Which models an edit may use: the admin's allow-list, and of it the models a host can run.

The allow-list is one `app_settings` row (a JSON list under ALLOWED_MODELS). With no row it is
the default list: the app's model and every model the operations' settings in force name. An
operation's own model (its settings', else the app's) is what an edit uses when the user
chooses none; the admin chose it in the operation's settings, so it needs no place on the list.

Whether a model is installed is what the hosts' health checks last saw (editing.hosts, every few
seconds). A request is refused for a model no host has only when that is known: every
configured host has been checked and at least one of them answers. A host not checked yet (the
app has just started) or a pool whose hosts are all down lets the request through; the model
server's own answer then stands (not installed, or not reachable), and the token goes back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textedit_core.editing import hosts, settings
from textedit_core.editing.gateway import model_names
from textedit_core.errors import ModelNotInstalled, ValidationError
from textedit_core.i18n import _, ngettext
from textedit_core.identity.accounts import require_role
from textedit_core.infra import audit
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import STAFF_ROLES, AppSetting, HostState, Role

# The app_settings key of the allow-list; no row: the default list.
ALLOWED_MODELS = "allowed_models"
MAX_ALLOWED_MODELS = 50
# A bad name is quoted in its refusal up to this many characters.
MAX_QUOTED_CHARS = 60


@dataclass(frozen=True)
class ModelChoice:
    """What the editor offers: the allowed models some host that answers has installed, and
    each operation's own model."""

    available: tuple[str, ...]
    defaults: Mapping[str, str]  # operation key -> the model it uses when none is chosen

    def options(self, operation: str) -> list[str]:
        """The operation's own model first, then the other available ones."""
        own = self.defaults[operation]
        return [own, *(name for name in self.available if not same_model(name, own))]


def same_model(one: str, other: str) -> bool:
    """Whether two names are the same model to Ollama (an untagged name is name:latest)."""
    return bool(model_names(one) & model_names(other))


def _distinct(names: Iterable[str]) -> list[str]:
    """The names in order, each model once (its first spelling)."""
    kept: list[str] = []
    for name in names:
        if not any(same_model(name, seen) for seen in kept):
            kept.append(name)
    return kept


def _quoted(name: str) -> str:
    return name if len(name) <= MAX_QUOTED_CHARS else name[:MAX_QUOTED_CHARS] + "…"


def default_allowed(session: Session, default_model: str) -> list[str]:
    """The list with no admin's row: the app's model and the operations' own models."""
    named = (version.settings.model for version in settings.all_current(session).values())
    return _distinct([default_model, *(name for name in named if name)])


def allowed(session: Session, default_model: str) -> list[str]:
    """The models users may choose, in the admin's order."""
    value = session.scalar(select(AppSetting.value).where(AppSetting.key == ALLOWED_MODELS))
    if value is None:
        return default_allowed(session, default_model)
    names = json.loads(value)
    return [str(name) for name in names]


def checked_names(models: Sequence[str]) -> list[str]:
    """An allow-list as entered, each name checked (ValidationError for the first bad one), each
    model once. Not saved."""
    names = [str(name).strip() for name in models]
    for name in names:
        if not name:
            raise ValidationError(_("A model name is empty: give one name per line."))
        try:
            settings.parse_model(name)
        except ValidationError:
            raise ValidationError(
                _(
                    "{model} is not a model name. Use an Ollama model's name, such as qwen2.5:3b or "
                    "namespace/name:tag (letters, digits, dots, dashes and underscores).",
                    model=_quoted(name),
                )
            ) from None
    kept = _distinct(names)
    if not kept:
        raise ValidationError(_("Enter at least one model."))
    if len(kept) > MAX_ALLOWED_MODELS:
        raise ValidationError(
            ngettext(
                "At most {n} model can be allowed.", "At most {n} models can be allowed.", MAX_ALLOWED_MODELS
            )
        )
    return kept


def changes(old: Sequence[str], new: Sequence[str]) -> tuple[list[str], list[str]]:
    """The models `new` adds to `old`, and those it takes away."""
    added = [name for name in new if not any(same_model(name, was) for was in old)]
    removed = [name for name in old if not any(same_model(name, now) for now in new)]
    return added, removed


def set_allowed(session: Session, admin_id: int, models: Sequence[str], *, default_model: str) -> list[str]:
    """The admin's allow-list, in force from the next edit on; audited. `default_model`: the
    app's model (for the default list, the one in force until a first save)."""
    require_role(session, admin_id, Role.ADMIN)
    new = checked_names(models)
    old = allowed(session, default_model)
    if new == old:
        raise ValidationError(_("Nothing changed: that is the list in force."))
    fresh = {"value": json.dumps(new), "changed_by_id": admin_id, "changed_at": utcnow()}
    # ON CONFLICT: two admins saving a first list at once both write, the later one wins.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(AppSetting).values(key=ALLOWED_MODELS, **fresh)
    session.execute(statement.on_conflict_do_update(index_elements=[AppSetting.key], set_=fresh))
    audit.record(session, admin_id, audit.MODEL_ALLOW_LIST, {"models": [old, new]})
    return new


def _answering(rows: Sequence[hosts.HostRow]) -> list[hosts.HostRow]:
    """The hosts checked and not found down (a host cooling down after failed calls answers)."""
    return [row for row in rows if row.last_checked_at is not None and row.state != HostState.DOWN.value]


def available(session: Session, urls: Sequence[str], default_model: str) -> list[str]:
    """The allowed models installed on at least one host that answers, in the list's order."""
    installed = {name for row in _answering(hosts.checked(session, urls)) for name in row.installed_models}
    return [name for name in allowed(session, default_model) if model_names(name) & installed]


def choice(session: Session, urls: Sequence[str], default_model: str) -> ModelChoice:
    defaults = {
        key: version.settings.model or default_model for key, version in settings.all_current(session).items()
    }
    return ModelChoice(tuple(available(session, urls, default_model)), defaults)


def _missing(model: str, rows: Sequence[hosts.HostRow]) -> bool:
    """Whether no host of `rows` that answers has `model`, as far as the checks know (see the
    module's docstring): False while a host is unchecked or every host is down."""
    answering = _answering(rows)
    if not answering or any(row.last_checked_at is None for row in rows):
        return False
    wanted = model_names(model)
    return not any(wanted & set(row.installed_models) for row in answering)


def resolve(
    session: Session,
    requested: str | None,
    in_force_model: str | None,
    default_model: str,
    urls: Sequence[str],
) -> str:
    """The model a request uses: `requested` if it may be used, or (None) the operation's own,
    `in_force_model`, else the app's `default_model`. Raises ValidationError for a model not on
    the allow-list, ModelNotInstalled for one no host that answers has; both name the model."""
    return _resolved(session, requested, in_force_model, default_model, hosts.checked(session, urls))


def _resolved(
    session: Session,
    requested: str | None,
    in_force_model: str | None,
    default_model: str,
    seen: Sequence[hosts.HostRow],
) -> str:
    own = in_force_model or default_model
    name = (requested or "").strip()
    if not name or same_model(name, own):
        chosen = own
    elif any(same_model(name, allowed_name) for allowed_name in allowed(session, default_model)):
        chosen = name
    else:
        raise ValidationError(
            _("The model {model} is not one you can choose. Choose another model.", model=_quoted(name))
        )
    if _missing(chosen, seen):
        raise ModelNotInstalled(
            _(
                "The model {model} is not installed on any model server. Choose another model, "
                "or ask staff to install it.",
                model=chosen,
            )
        )
    return chosen


def with_model(
    session: Session,
    in_force: settings.OperationSettings,
    requested: str | None,
    default_model: str,
    seen: Sequence[hosts.HostRow],
) -> settings.OperationSettings:
    """The settings a request runs with: those in force, with the model `resolve` gives.
    `seen`: the configured hosts as last checked (hosts.checked), read once per request."""
    return replace(in_force, model=_resolved(session, requested, in_force.model, default_model, seen))


def record_pull(
    session: Session, actor_id: int, host: str, model: str, *, urls: Sequence[str], default_model: str
) -> str:
    """Check a pull before it starts (staff; one of the configured hosts; an allowed model) and
    audit it. The model's name as it is pulled."""
    require_role(session, actor_id, *STAFF_ROLES)
    if host not in urls:
        raise ValidationError(_("{host} is not one of the app's model servers.", host=_quoted(host)))
    name = (model or "").strip()
    if not any(same_model(name, allowed_name) for allowed_name in allowed(session, default_model)):
        raise ValidationError(
            _(
                "The model {model} is not on the list of allowed models. An admin can add it first.",
                model=_quoted(name),
            )
        )
    audit.record(session, actor_id, audit.MODEL_PULL, {"host": host, "model": name})
    return name
