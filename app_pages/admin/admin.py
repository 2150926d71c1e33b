"""Admin: the token rate with a preview and its history, the operations' settings with a preview
run and their versions, the shared result cache, and the audit log of admin actions."""

from decimal import Decimal

import pandas as pd
import streamlit as st

from app_pages.components import language, session
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.common import app_services, escape_markdown, flash
from app_pages.components.confirm import confirm
from app_pages.components.inputs import date_range
from app_pages.components.staffview import local, operation_name, time_column, zone_name
from textedit_core import i18n
from textedit_core.billing import currencies as iso_currencies
from textedit_core.billing.money import format_amount
from textedit_core.editing.settings import (
    MAX_CHARS_PER_TOKEN,
    MAX_EXTRA_TOKENS,
    MAX_TASK_CHARS,
    SettingsVersion,
)
from textedit_core.i18n import _, ngettext
from textedit_core.reports.audit import ACTION_LABELS, setting_changes
from textedit_core.usecases import admin, staff
from textedit_core.usecases import cache as result_cache

account = session.require_account(admin=True)
svc = app_services()
zone = language.time_zone(account.time_zone)

st.title(_("Admin"), anchor=False)
rate_tab, operations_tab, cache_tab, audit_tab = st.tabs(
    [_("Token rate"), _("Operations"), _("Cache"), _("Audit log")]
)

overview = loaded(lambda: admin.rate_overview(svc, session.token()))
rate, rate_rows = overview.rate, overview.history


def _money(preview: admin.RatePreview) -> str:
    """The preview's amount, for markdown (a "$" would open LaTeX)."""
    return escape_markdown(i18n.format_money(preview.amount, preview.currency))


def _tokens(count: int) -> str:
    return ngettext("{n} token", "{n} tokens", count)


def _comparison(change: admin.RateChangePreview) -> str:
    """What the same amount buys at the new rate and bought before, with the old currency when
    that changed: "$100.00 now buys 500 tokens; was 1,000." """
    old, new = change.old, change.new
    if old.currency == new.currency:
        return _(
            "{amount} now buys {tokens}; was {was}.",
            amount=_money(new),
            tokens=_tokens(new.tokens),
            was=i18n.format_number(old.tokens),
        )
    return _(
        "{amount} now buys {tokens}; was {was_tokens} for {was_amount}.",
        amount=_money(new),
        tokens=_tokens(new.tokens),
        was_tokens=_tokens(old.tokens),
        was_amount=_money(old),
    )


with rate_tab:
    st.caption(_("The price of one token. Changes apply to new top-ups; past ones keep their rate."))
    in_force = escape_markdown(i18n.format_money(rate.rate, rate.currency))
    st.write(
        _(
            "In force: 1 token = **{rate}** · {amount} now buys {tokens}.",
            rate=in_force,
            amount=_money(overview.buys),
            tokens=_tokens(overview.buys.tokens),
        )
    )
    codes = list(iso_currencies.NAMES)
    currency_col, rate_col = st.columns(2)
    # Keys carry the rate's id: after a save the inputs start again from the new rate in force.
    currency = currency_col.selectbox(
        _("Currency"),
        codes,
        index=codes.index(rate.currency) if rate.currency in iso_currencies.NAMES else None,
        # Named in this run's language (a format_func may be called outside the run).
        format_func={code: f"{code} — {iso_currencies.name(code)}" for code in codes}.get,
        key=f"rate_currency_{rate.id}",
    )
    rate_text = rate_col.text_input(
        _("1 token ="),
        # In the language's notation, ungrouped: parse_rate refuses thousands separators.
        value=format_amount(rate.rate, grouped=False),
        help=_("Price of one token in the chosen currency, up to 6 decimals, e.g. 0.10"),
        key=f"rate_value_{rate.id}",
    )
    change = None
    with shown_errors():
        change = admin.rate_change_preview(overview.buys, currency, rate_text)
    if change is not None and change.changed:
        st.info(_("After saving: {comparison}", comparison=_comparison(change)))
    ready = change if change is not None and change.changed else None
    if st.button(_("Save rate…"), type="primary", key="save_rate", disabled=ready is None) and ready:
        new_rate = i18n.format_money(ready.new.rate, ready.new.currency)
        effect = [
            _("1 token = **{rate}** (was {old_rate}).", rate=escape_markdown(new_rate), old_rate=in_force),
            _comparison(ready),
            _("New top-ups use the new rate; past top-ups keep theirs."),
        ]
        confirm(
            _("Change the token rate?"),
            "\n\n".join(effect),
            _("Save rate"),
            # Bound now: the dialog's rerun runs only the dialog, after the page's later names changed.
            lambda new=ready.new: admin.set_rate(svc, session.token(), new.currency, new.rate),
            _("Rate saved: 1 token = {rate}.", rate=new_rate),
        )

    st.markdown(_("**History**"))
    st.dataframe(
        pd.DataFrame(
            [
                (
                    local(r.changed_at, zone),
                    i18n.format_money(r.rate, r.currency),
                    i18n.format_money(r.old_rate, r.old_currency or "") if r.old_rate is not None else "",
                    r.changed_by or _("(initial setting)"),
                )
                for r in rate_rows
            ],
            columns=["changed_at", "rate", "was", "by"],
        ),
        hide_index=True,
        column_config={
            "changed_at": time_column(_("When ({zone})", zone=zone_name(zone))),
            "rate": _("1 token ="),
            "was": _("Was"),
            "by": _("By"),
        },
    )


def _temperature(value: Decimal) -> str:
    """As the temperature input takes it: 0.1 (0,1 in Russian)."""
    return i18n.format_decimal(value, min_places=1, max_places=2, grouped=False)


def _saved(version: SettingsVersion) -> str:
    """The version in force and where it came from, for markdown."""
    number = i18n.format_number(version.settings.version)
    if version.changed_at is None:
        return _("In force: version **{version}**, the built-in settings.", version=number)
    return _(
        "In force: version **{version}**, saved {when} by {who}.",
        version=number,
        when=i18n.format_datetime(version.changed_at, zone),
        who=escape_markdown(version.changed_by or _("(unknown)")),
    )


with operations_tab:
    st.caption(
        _(
            "What each operation asks the model. A saved change is a new version, used from the next "
            "edit on; each history entry records the version it was made with."
        )
    )
    in_force_all = loaded(lambda: admin.operation_settings(svc, session.token()))
    operation = st.selectbox(
        _("Operation"),
        list(in_force_all),
        format_func={key: operation_name(key) for key in in_force_all}.get,
        key="ops_operation",
    )
    in_force_version = in_force_all[operation]
    in_force_settings = in_force_version.settings
    st.write(_saved(in_force_version))
    # Keys carry the operation and its version: after a save the inputs start again from it.
    suffix = f"{operation}_{in_force_settings.version}"
    task = st.text_area(
        _("Task"),
        value=in_force_settings.task,
        max_chars=MAX_TASK_CHARS,
        help=_(
            "What the model is asked to do with the text. The rules about the text block and the "
            "answer's form are added around it."
        ),
        key=f"ops_task_{suffix}",
    )
    temperature_col, chars_col, extra_col = st.columns(3)
    temperature = temperature_col.text_input(
        _("Temperature"),
        value=_temperature(in_force_settings.temperature),
        help=_("From 0 to 2, at most 2 decimals: lower keeps closer to the text, higher varies more."),
        key=f"ops_temperature_{suffix}",
    )
    chars_per_token = chars_col.number_input(
        _("Characters per answer token"),
        min_value=1,
        max_value=MAX_CHARS_PER_TOKEN,
        value=in_force_settings.budget_chars_per_token,
        step=1,
        help=_(
            "The answer's budget: one token for every this many characters of the text, plus the "
            "extra tokens, at most 4,096 in all. Smaller numbers leave room for longer answers."
        ),
        key=f"ops_chars_{suffix}",
    )
    extra_tokens = extra_col.number_input(
        _("Extra answer tokens"),
        min_value=0,
        max_value=MAX_EXTRA_TOKENS,
        value=in_force_settings.budget_extra_tokens,
        step=16,
        key=f"ops_extra_{suffix}",
    )
    model = st.text_input(
        _("Model"),
        value=in_force_settings.model or "",
        placeholder=svc.gateway.model,
        help=_(
            "Empty: the app's model, {model}. Otherwise an Ollama model installed on the server, "
            "like qwen2.5:3b.",
            model=svc.gateway.model,
        ),
        key=f"ops_model_{suffix}",
    )
    operation_change = None
    with shown_errors():
        operation_change = admin.operation_change(
            in_force_settings, task, temperature, chars_per_token, extra_tokens, model
        )
    sample = st.text_area(
        _("Sample text"),
        placeholder=_("A text to try the settings on before saving them"),
        key="ops_sample",
    )
    next_version = i18n.format_number(in_force_settings.version + 1)
    preview_col, save_col = st.columns(2)
    if preview_col.button(_("Preview"), key="ops_preview", disabled=operation_change is None):
        answer = None
        with shown_errors(), st.spinner(_("Running the model…")):
            answer = admin.preview_operation(
                svc,
                session.token(),
                operation,
                task,
                temperature,
                chars_per_token,
                extra_tokens,
                model,
                sample,
            )
        if answer is not None:
            st.caption(_("The answer with these settings (not saved, nothing charged):"))
            st.code(answer, language=None, wrap_lines=True)
    entered_change = operation_change if operation_change is not None and operation_change.changes else None
    if (
        save_col.button(
            _("Save as version {version}…", version=next_version),
            type="primary",
            key="ops_save",
            disabled=entered_change is None,
        )
        and entered_change
    ):
        name = operation_name(operation)
        effect = [
            "\n".join(f"- {escape_markdown(line)}" for line in setting_changes(entered_change.changes)),
            _(
                "New edits use version {version} at once; history entries keep the version they were "
                "made with.",
                version=next_version,
            ),
        ]
        confirm(
            _("Save the {operation} settings as version {version}?", operation=name, version=next_version),
            "\n\n".join(effect),
            _("Save version {version}", version=next_version),
            lambda chosen=entered_change, key=operation: admin.change_operation_settings(
                svc,
                session.token(),
                key,
                chosen.entered.task,
                chosen.entered.temperature,
                chosen.entered.budget_chars_per_token,
                chosen.entered.budget_extra_tokens,
                chosen.entered.model,
                expected_version=chosen.in_force.version,
            ),
            _(
                "Saved: version {version} of the {operation} settings is in force.",
                version=next_version,
                operation=name,
            ),
        )

    st.markdown(_("**Versions**"))
    versions = loaded(lambda: admin.operation_history(svc, session.token(), operation))
    st.dataframe(
        pd.DataFrame(
            [
                (
                    v.settings.version,
                    local(v.changed_at, zone),
                    v.changed_by or _("(built-in)"),
                    _temperature(v.settings.temperature),
                    v.settings.budget_chars_per_token,
                    v.settings.budget_extra_tokens,
                    v.settings.model or _("the app's model"),
                    v.settings.task,
                )
                for v in versions
            ],
            columns=["version", "changed_at", "by", "temperature", "chars", "extra", "model", "task"],
        ),
        hide_index=True,
        column_config={
            "version": _("Version"),
            "changed_at": time_column(_("When ({zone})", zone=zone_name(zone))),
            "by": _("By"),
            "temperature": _("Temperature"),
            "chars": _("Characters per answer token"),
            "extra": _("Extra answer tokens"),
            "model": _("Model"),
            "task": _("Task"),
        },
    )

with cache_tab:
    st.caption(
        _(
            "An identical request (operation, model, settings version and text) is answered from the "
            "cache shared by every app process, without calling the model."
        )
    )
    cached = loaded(lambda: result_cache.overview(svc, session.token()))
    if cached.ttl_hours == 0:
        st.info(_("The cache is off: TEXTEDIT_CACHE_TTL_HOURS is 0."))
    else:
        st.write(
            _(
                "Answers are reused for {hours} hours after they were made; at most {entries} are kept.",
                hours=i18n.format_number(cached.ttl_hours),
                entries=i18n.format_number(cached.max_entries),
            )
        )
    entries_col, hits_col = st.columns(2)
    entries_col.metric(_("Cached answers"), i18n.format_number(cached.stats.entries))
    hits_col.metric(_("Answered from the cache"), i18n.format_number(cached.stats.hits))
    # The key carries the value in force: after a save (or a refusal) the toggle starts from it.
    cost_key = f"cache_hits_cost_{cached.hits_cost_token}"

    def _save_cost() -> None:
        costs = st.session_state[cost_key]
        with shown_errors():
            result_cache.set_hits_cost_token(svc, session.token(), costs)
            flash(
                "success",
                _("Saved: a cache hit costs a token.") if costs else _("Saved: cache hits are free."),
            )

    st.toggle(
        _("Cache hits cost a token"),
        value=cached.hits_cost_token,
        help=_(
            "On: an answer from the cache costs a token like any other, being the same result. "
            "Off: it is free. Applies from the next edit on."
        ),
        key=cost_key,
        on_change=_save_cost,
    )
    if st.button(_("Clear the cache…"), key="cache_clear", disabled=cached.stats.entries == 0):
        confirm(
            _("Clear the cache?"),
            ngettext(
                "{n} cached answer will be deleted: the next request of each kind asks the model again.",
                "{n} cached answers will be deleted: the next request of each kind asks the model again.",
                cached.stats.entries,
            ),
            _("Clear the cache"),
            lambda: result_cache.clear(svc, session.token()),
            _("The cache is empty."),
        )

with audit_tab:
    action_col, actor_col, dates_col = st.columns([1, 1, 2])
    action = action_col.selectbox(
        _("Action"),
        [None, *ACTION_LABELS],
        format_func={None: _("Any"), **{a: _(label) for a, label in ACTION_LABELS.items()}}.get,
        key="audit_action",
    )
    actor_email = actor_col.text_input(_("By (email)"), key="audit_actor")
    date_from, date_to = date_range(_("Dates (UTC days)"), key="audit_dates", days=90, where=dates_col)
    rows = loaded(
        lambda: staff.audit_log(
            svc,
            session.token(),
            action=action,
            actor_email=actor_email or None,
            date_from=date_from,
            date_to=date_to,
        )
    )
    st.caption(
        ngettext("{n} most recent entry (up to 200).", "{n} most recent entries (up to 200).", len(rows))
    )
    st.dataframe(
        pd.DataFrame(
            [(local(r.created_at, zone), r.actor or _("(command line)"), r.summary) for r in rows],
            columns=["created_at", "actor", "what"],
        ),
        hide_index=True,
        column_config={
            "created_at": time_column(_("When ({zone})", zone=zone_name(zone)), seconds=True),
            "actor": _("By"),
            "what": _("What happened"),
        },
    )
