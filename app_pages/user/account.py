"""Account: change password, language and time zone, see and end signed-in devices, log out everywhere."""

import pandas as pd
import streamlit as st

from app_pages.components import language, session, staffview
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.common import app_services, escape_markdown, flash
from app_pages.components.confirm import confirm
from app_pages.components.inputs import new_password_fields, passwords_match
from textedit_core import i18n
from textedit_core.i18n import _, ngettext
from textedit_core.identity.roles import role_label
from textedit_core.usecases import account as own_account

account = session.require_account()
svc = app_services()
zone = language.time_zone(account.time_zone)
BROWSER = ""  # the choice "Browser default", saved as none

st.title(_("Account"), anchor=False)
st.caption(
    _(
        "Signed in as {email} · role: {role}",
        email=escape_markdown(account.email),
        role=role_label(account.role),
    )
)

st.subheader(_("Change password"))
with st.form("password_form", clear_on_submit=True):
    current = st.text_input(_("Current password"), type="password", autocomplete="current-password")
    new, repeat = new_password_fields(_("New password"), _("Repeat new password"), key="change_password")
    change = st.form_submit_button(_("Change password"), type="primary")
if change and passwords_match(new, repeat):
    with shown_errors():
        ended = own_account.change_password(svc, session.token(), current, new)
        flash(
            "success",
            ngettext(
                "Password changed. Signed out of {n} other device.",
                "Password changed. Signed out of {n} other devices.",
                ended,
            ),
        )
        st.rerun()

st.subheader(_("Language and time zone"))
# Keyed by the saved values: saved elsewhere (the sidebar's switch), they show here fresh.
language_key = f"account_language:{account.language}"
zone_key = f"account_time_zone:{account.time_zone}"
languages = [BROWSER, *i18n.LANGUAGES]
zones = [BROWSER, *language.zone_names()]


def _save_preferences() -> None:
    chosen, chosen_zone = st.session_state[language_key], st.session_state[zone_key]
    with shown_errors():
        own_account.set_preferences(svc, session.token(), chosen or None, chosen_zone or None)
        # The sidebar's switch shows the saved language again, or the browser's for none; this
        # callback runs before the page, whose run sets the language from the account anew.
        st.session_state.pop(language.SWITCH_KEY, None)
        if chosen:
            st.session_state[language.PICKED_KEY] = chosen
        else:
            st.session_state.pop(language.PICKED_KEY, None)
        language.use(chosen or None)
        flash("success", _("Language and time zone saved."))


with st.form("preferences_form"):
    st.selectbox(
        _("Language"),
        languages,
        index=languages.index(account.language) if account.language in languages else 0,
        format_func=lambda code: (
            i18n.LANGUAGES.get(code)
            or _("Browser default ({language})", language=i18n.LANGUAGES[language.browser_language()])
        ),
        key=language_key,
    )
    st.selectbox(
        _("Time zone"),
        zones,
        index=zones.index(account.time_zone) if account.time_zone in zones else 0,
        format_func=lambda name: name or _("Browser default ({zone})", zone=str(language.time_zone(None))),
        key=zone_key,
        help=_("Times on every page are shown in this zone."),
    )
    st.form_submit_button(_("Save language and time zone"), on_click=_save_preferences)

st.subheader(_("Signed-in devices"))
devices = loaded(lambda: own_account.devices(svc, session.token()))
device_col, address_col, signed_in_col, used_col = (
    _("Device"),
    _("IP address"),
    _("Signed in ({zone})", zone=staffview.zone_name(zone)),
    _("Last used ({zone})", zone=staffview.zone_name(zone)),
)
st.dataframe(
    pd.DataFrame(
        [
            {
                device_col: _("{device} (this one)", device=d.user_agent) if d.this_device else d.user_agent,
                address_col: d.ip_address or "",
                signed_in_col: staffview.local(d.created_at, zone),
                used_col: staffview.local(d.last_used_at, zone),
            }
            for d in devices
        ],
        columns=[device_col, address_col, signed_in_col, used_col],
    ),
    hide_index=True,
    column_config={
        signed_in_col: staffview.time_column(signed_in_col),
        used_col: staffview.time_column(used_col),
    },
)
others = [d for d in devices if not d.this_device]
if others:
    labels = {
        d.id: _(
            "{device}, last used {when}", device=d.user_agent, when=i18n.format_datetime(d.last_used_at, zone)
        )
        for d in others
    }
    chosen = st.selectbox(_("Device"), options=list(labels), format_func=labels.get, key="revoke_choice")
    if st.button(_("Sign out that device"), key="revoke_device"):
        with shown_errors():
            own_account.revoke_device(svc, session.token(), chosen)
            flash("success", _("That device is signed out."))
            st.rerun()

st.subheader(_("Log out everywhere"))
st.caption(_("Ends every session of this account, on every device, including this one."))
if st.button(_("Log out everywhere…"), key="logout_everywhere"):
    effect = (
        _("Ends the only session of this account, on this device; you will need to log in again.")
        if len(devices) == 1
        else ngettext(
            "Ends all {n} session of this account on every device, including this one; "
            "you will need to log in again.",
            "Ends all {n} sessions of this account on every device, including this one; "
            "you will need to log in again.",
            len(devices),
        )
    )
    confirm(
        _("Log out everywhere?"),
        effect,
        _("Log out everywhere"),
        lambda: session.sign_out_everywhere(account.id),
        _("You are logged out on every device."),
    )
