"""Models: every Ollama host of the pool as the health checker and the model calls last saw it."""

import pandas as pd
import streamlit as st

from app_pages.components import language, session
from app_pages.components.actions import loaded
from app_pages.components.common import app_services
from app_pages.components.staffview import local, time_column, zone_name
from textedit_core import i18n
from textedit_core.editing.hosts import state_label
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
