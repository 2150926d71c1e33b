"""Admin: the token rate with a preview and its history, and the audit log of admin actions."""

import pandas as pd
import streamlit as st

from app_pages.components import language, session
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.common import app_services, escape_markdown
from app_pages.components.confirm import confirm
from app_pages.components.inputs import date_range
from app_pages.components.staffview import local, time_column, zone_name
from textedit_core import i18n
from textedit_core.billing import currencies as iso_currencies
from textedit_core.billing.money import format_amount
from textedit_core.i18n import _, ngettext
from textedit_core.reports.audit import ACTION_LABELS
from textedit_core.usecases import admin, staff

account = session.require_account(admin=True)
svc = app_services()
zone = language.time_zone(account.time_zone)

st.title(_("Admin"))
rate_tab, audit_tab = st.tabs([_("Token rate"), _("Audit log")])

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
            lambda: admin.set_rate(svc, session.token(), ready.new.currency, ready.new.rate),
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
