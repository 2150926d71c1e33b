"""History: the user's own edit requests, searched and filtered, a page at a time; one opened
to read, download, reopen in the editor, run again or delete."""

from datetime import datetime, time, timedelta

import streamlit as st

from app_pages.components import common, draft, language, reviewview, session, staffview
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.confirm import confirm
from app_pages.components.inputs import date_range, pager
from textedit_core import i18n
from textedit_core.editing import history
from textedit_core.editing.operations import OPERATIONS
from textedit_core.i18n import _, ngettext
from textedit_core.infra.models import EditStatus
from textedit_core.usecases import history as requests

account = session.require_account()
svc = common.app_services()
zone = language.time_zone(account.time_zone)
days = svc.settings.history_days
EDITOR = "app_pages/user/editor.py"

st.title(_("History"), anchor=False)
st.caption(
    ngettext(
        "Every request you made in the last {n} day. Deleting an entry does not change your "
        "balance or your wallet's transactions.",
        "Every request you made in the last {n} days. Deleting an entry does not change your "
        "balance or your wallet's transactions.",
        days,
    )
)


def _first_page() -> None:
    st.session_state["history_page"] = 1


search_col, operation_col, status_col = st.columns([2, 1, 1])
search = search_col.text_input(
    _("Search"),
    key="history_search",
    on_change=_first_page,
    placeholder=_("A word from the text or the result"),
)
operation_names = {key: _(op.label) for key, op in OPERATIONS.items()}
operation = operation_col.selectbox(
    _("Operation"),
    list(OPERATIONS),
    format_func=operation_names.get,
    index=None,
    placeholder=_("Any"),
    key="history_operation",
    on_change=_first_page,
)
statuses = [status.value for status in EditStatus]
status_names = {status: history.status_label(status) for status in statuses}
status = status_col.selectbox(
    _("Status"),
    statuses,
    format_func=status_names.get,
    index=None,
    placeholder=_("Any"),
    key="history_status",
    on_change=_first_page,
)
all_dates = st.toggle(_("All dates"), value=True, key="history_all_dates", on_change=_first_page)
since = until = None
if not all_dates:
    first_day, last_day = date_range(_("Dates"), key="history_dates", days=7, on_change=_first_page)
    since = datetime.combine(first_day, time.min, tzinfo=zone)
    until = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)

size_col, page_col = st.columns(2)
page_size, page_number = pager(size_col, page_col, "history", _first_page)
query = history.HistoryQuery(
    search=search,
    operation=operation,
    status=status,
    since=since,
    until=until,
    page=page_number,
    page_size=page_size,
)
found = loaded(lambda: requests.search(svc, session.token(), query))

if not found.rows:
    if found.total == 0 and not (search or operation or status or since):
        st.info(_("No requests yet. Your edits appear here once you run one in the Editor."))
        st.page_link(EDITOR, label=_("Open the Editor"), icon=":material/edit_note:")
    else:
        st.info(_("Nothing matches these filters."))
    st.stop()

st.caption(
    ngettext(
        "{n} request · page {page} of {pages}",
        "{n} requests · page {page} of {pages}",
        found.total,
        page=i18n.format_number(found.page),
        pages=i18n.format_number(found.pages),
    )
)
when_label = _("Time ({zone})", zone=staffview.zone_name(zone))
table = st.dataframe(
    [
        {
            "when": staffview.local(row.created_at, zone),
            "operation": operation_names.get(row.operation, row.operation),
            "status": status_names.get(row.status, row.status),
            "cost": row.cost,
            "input": row.input_preview,
            "output": row.output_preview,
        }
        for row in found.rows
    ],
    column_config={
        "when": staffview.time_column(when_label),
        "operation": st.column_config.TextColumn(_("Operation")),
        "status": st.column_config.TextColumn(_("Status")),
        "cost": st.column_config.NumberColumn(_("Tokens"), format="%d"),
        "input": st.column_config.TextColumn(_("Text")),
        "output": st.column_config.TextColumn(_("Result")),
    },
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key=f"history_table_{query}",
)
picked = [i for i in table.selection.rows if i < len(found.rows)]
if not picked:
    st.caption(_("Click a row to open that request."))
    st.stop()

entry = loaded(lambda: requests.entry(svc, session.token(), found.rows[picked[0]].id))
moment = entry.created_at.astimezone(zone)
st.subheader(
    _(
        "{operation} · {when}",
        operation=operation_names.get(entry.operation, entry.operation),
        when=i18n.format_datetime(entry.created_at, zone),
    )
)
st.caption(
    _(
        "{status} · {cost} · model {model}",
        status=status_names.get(entry.status, entry.status),
        cost=ngettext("{n} token", "{n} tokens", entry.cost),
        model=common.escape_markdown(entry.model),
    )
    + (" · " + _("Answered from the cache") if entry.from_cache else "")
)
if entry.error:
    common.show_error(entry.error)
st.markdown(f"**{_('Text')}**")
st.code(entry.input_text, language=None, wrap_lines=True)
if entry.output_text is not None:
    st.markdown(f"**{_('Result')}**")
    st.code(entry.output_text, language=None, wrap_lines=True)


def _reopen(run_again: bool) -> None:
    with shown_errors():
        requests.reopen(svc, session.token(), entry.id)
        draft.forget()  # the editor starts from the draft just written
        if run_again:
            st.session_state["editor_autorun"] = True
        st.switch_page(EDITOR)


open_col, again_col, delete_col = st.columns(3)
if open_col.button(
    _("Open in the editor"), key="history_reopen", icon=":material/edit_note:", width="stretch"
):
    _reopen(run_again=False)
if again_col.button(
    _("Run again"),
    key="history_rerun",
    icon=":material/replay:",
    width="stretch",
    disabled=account.balance <= 0,
    help=_("Runs the same operation on the same text, for 1 token."),
):
    _reopen(run_again=True)
if delete_col.button(_("Delete"), key="history_delete", icon=":material/delete:", width="stretch"):
    confirm(
        _("Delete this entry?"),
        _(
            "The entry is removed from your history. Your balance and your wallet's transactions "
            "stay as they are."
        ),
        _("Delete"),
        lambda: requests.delete(svc, session.token(), entry.id),
        _("Entry deleted."),
    )

if entry.output_text is not None:
    st.markdown(f"**{_('Download')}**")
    reviewview.downloads(
        reviewview.document_for(entry.operation, moment, entry.input_text, entry.output_text, entry.model),
        key=f"history_download_{entry.id}",
    )
