"""Models: every Ollama host of the pool as the health checker and the model calls last saw it;
the models users may choose (admins) and installing one of them on a host (staff)."""

import time

import pandas as pd
import streamlit as st

from app_pages.components import language, session
from app_pages.components.actions import loaded
from app_pages.components.common import app_services, escape_markdown, flash, show_error
from app_pages.components.confirm import confirm
from app_pages.components.staffview import local, time_column, zone_name
from textedit_core import i18n
from textedit_core.editing import catalog
from textedit_core.editing.hosts import state_label
from textedit_core.errors import DomainError
from textedit_core.i18n import _, ngettext
from textedit_core.usecases import models

account = session.require_account(staff=True)
svc = app_services()
zone = language.time_zone(account.time_zone)

st.title(_("Models"), anchor=False)
rows = loaded(lambda: models.hosts(svc, session.token()))
st.caption(
    ngettext(
        "Each edit goes to a host that is up, one with the model loaded first, then the one with "
        "the fewest requests running. A host that fails {n} request in a row is skipped for "
        "{seconds} seconds, then checked again.",
        "Each edit goes to a host that is up, one with the model loaded first, then the one with "
        "the fewest requests running. A host that fails {n} requests in a row is skipped for "
        "{seconds} seconds, then checked again.",
        svc.settings.ollama_failures_before_cooldown,
        seconds=i18n.format_number(round(svc.settings.ollama_cooldown_seconds)),
    )
)
here = zone_name(zone)
# st.dataframe shows each cell as plain text: the servers' errors and model names are not markdown.
st.dataframe(
    pd.DataFrame(
        [
            {
                "url": row.url,
                "state": state_label(row.state),
                "version": row.version or "",
                "loaded": ", ".join(row.loaded_models),
                "installed": ", ".join(row.installed_models),
                "in_flight": row.in_flight,
                "failures": row.consecutive_failures,
                "cooldown_until": local(row.cooldown_until, zone),
                "last_error": row.last_error or "",
                "last_checked_at": local(row.last_checked_at, zone),
            }
            for row in rows
        ],
        columns=[
            "url",
            "state",
            "version",
            "loaded",
            "installed",
            "in_flight",
            "failures",
            "cooldown_until",
            "last_error",
            "last_checked_at",
        ],
    ),
    hide_index=True,
    column_config={
        "url": _("Host"),
        "state": _("State"),
        "version": _("Ollama version"),
        "loaded": _("Loaded models"),
        "installed": _("Installed models"),
        "in_flight": st.column_config.NumberColumn(_("Requests running"), format="%d"),
        "failures": st.column_config.NumberColumn(_("Failures in a row"), format="%d"),
        "cooldown_until": time_column(_("Cooling down until ({zone})", zone=here), seconds=True),
        "last_error": _("Last error"),
        "last_checked_at": time_column(_("Last checked ({zone})", zone=here), seconds=True),
    },
)
if not any(row.last_checked_at for row in rows):
    st.caption(
        _(
            "Not checked yet: each app process checks every host every {seconds} seconds.",
            seconds=i18n.format_number(round(svc.settings.ollama_health_seconds)),
        )
    )

# How often the pull's progress bar is redrawn while the server reports.
REDRAW_SECONDS = 0.2
allowed_now = loaded(lambda: models.allowed_models(svc, session.token()))

if account.is_admin:
    st.subheader(_("Models users may choose"), anchor=False)
    st.caption(
        _(
            "One model name per line. The editor offers those of them installed on a host that "
            "answers; an edit with no model chosen uses its operation's own model."
        )
    )
    entered = st.text_area(
        _("Allowed models"), value="\n".join(allowed_now), key="allowed_models", height=150
    )
    if st.button(_("Save the list…"), key="allowed_save"):
        try:
            new_list = catalog.checked_names([line for line in entered.splitlines() if line.strip()])
        except DomainError as error:
            show_error(str(error))
        else:
            if new_list == allowed_now:
                st.info(_("Nothing changed: that is the list in force."))
            else:
                added, removed = catalog.changes(allowed_now, new_list)
                effect = []
                if added:
                    effect.append(_("Added: {models}", models=escape_markdown(", ".join(added))))
                if removed:
                    effect.append(_("Removed: {models}", models=escape_markdown(", ".join(removed))))
                if not effect:
                    effect.append(_("The same models, in a new order."))
                effect.append(_("Users choose from the new list from their next edit."))
                confirm(
                    _("Change the allowed models?"),
                    "\n\n".join(effect),
                    _("Save the list"),
                    lambda: models.set_allowed_models(svc, session.token(), new_list),
                    _("Saved: users choose from the new list from their next edit."),
                )

st.subheader(_("Install a model on a host"), anchor=False)
host_col, model_col = st.columns(2)
pull_host = host_col.selectbox(_("Host"), [row.url for row in rows], key="pull_host")
pull_name = model_col.selectbox(_("Model"), allowed_now, key="pull_model")
st.caption(_("Any model on the allowed list. A large model takes minutes to download."))
if st.button(_("Pull"), key="pull_run", icon=":material/download:", disabled=not (pull_host and pull_name)):
    bar = st.progress(0.0, text=_("Starting…"))
    done, drawn = 0.0, 0.0
    try:
        for step in models.pull_model(svc, session.token(), pull_host, pull_name):
            done = step.fraction if step.fraction is not None else done
            if time.monotonic() - drawn >= REDRAW_SECONDS:
                bar.progress(done, text=escape_markdown(step.status))
                drawn = time.monotonic()
    except DomainError as error:
        bar.empty()
        show_error(str(error))
    else:
        flash("success", _("{model} is installed on {host}.", model=pull_name, host=pull_host))
        st.rerun()
