"""Editor: paste text, pick an operation, get the model's edit for one token."""

import streamlit as st

from app_pages.components import common, session
from textedit_core import i18n
from textedit_core.demo.samples import sample_texts
from textedit_core.editing.jobs import FREE_RESULT_NOTE
from textedit_core.editing.operations import OPERATIONS
from textedit_core.errors import DomainError, ModelError
from textedit_core.i18n import _
from textedit_core.usecases import editor

account = session.require_account()
svc = common.app_services()
limit = svc.settings.max_input_chars

st.title(_("Editor"))

status = common.model_status()
model_ready = status.reachable and status.model_installed
# Staff can act on the engine's details; a writer only needs to know it is not their fault.
if not status.reachable:
    if account.is_staff:
        st.warning(
            _(
                "The model service is not reachable at {host}. Start Ollama (`ollama serve`); "
                "Run stays off until it answers.",
                host=common.escape_markdown(svc.gateway.host),
            )
        )
    else:
        st.warning(_("The model is not available right now. Run comes back once it is; try again later."))
elif not status.model_installed:
    if account.is_staff:
        st.warning(_("The model is not installed. Run `ollama pull {model}`.", model=svc.gateway.model))
    else:
        st.warning(_("The model is being set up. Run comes back once it is; try again later."))

if account.balance <= 0:
    st.info(_("Your balance is 0 tokens. Each edit costs 1 token."))
    st.page_link(
        "app_pages/user/wallet.py", label=_("Top up your wallet"), icon=":material/account_balance_wallet:"
    )

if svc.settings.demo_mode:
    samples = sample_texts()

    def _load_sample() -> None:
        sample = samples[st.session_state["editor_sample"]]
        st.session_state["editor_text"] = sample.text
        st.session_state["editor_operation"] = sample.operation

    st.selectbox(
        _("Try an example"),
        range(len(samples)),
        format_func=lambda i: f"{samples[i].title} ({samples[i].language.upper()})",
        index=None,
        placeholder=_("Pick a sample text…"),
        key="editor_sample",
        on_change=_load_sample,
    )

text = st.text_area(
    _("Your text"),
    key="editor_text",
    height=220,
    max_chars=limit,
    placeholder=_("Paste or type the text to improve…"),
    help=_("Up to {limit} characters. Split longer texts into parts.", limit=i18n.format_number(limit)),
    # Committed without a rerun: a rerun started by the blur of a click elsewhere (the sidebar's
    # Wallet, "Top up your wallet") swallowed that click. The text travels with the next rerun.
    on_change="ignore",
)
operation = st.segmented_control(
    _("Operation"),
    options=list(OPERATIONS),
    format_func=lambda key: _(OPERATIONS[key].label),
    default="fix",
    key="editor_operation",
    required=True,
)
st.caption(_("1 token per request"))

if st.button(_("Run"), type="primary", disabled=account.balance <= 0 or not model_ready, key="editor_run"):
    st.session_state.pop("editor_result", None)  # an error must not sit above an older result
    try:
        job = editor.start_edit(svc, session.token(), operation, text)
    except DomainError as error:
        common.show_error(str(error))
    else:
        # The answer streams into a placeholder for progress only: what is shown as the result is
        # the text the guard accepted, and a refused or failed answer leaves nothing behind.
        writing = st.empty()
        try:
            with writing.container(border=True):
                st.caption(_("Writing…"))
                st.write_stream(common.escape_markdown_stream(job.stream()))
        except ModelError as error:
            writing.empty()
            common.show_error(str(error))
        else:
            writing.empty()
            st.session_state["editor_result"] = job.result
            if job.result.charged:
                common.flash("success", _("Done: 1 token used."))
            else:
                common.flash("info", _(FREE_RESULT_NOTE))
            st.rerun()

result = st.session_state.get("editor_result")
if result is not None:
    st.subheader(_("Result · {operation}", operation=_(OPERATIONS[result.operation].label)))
    st.code(result.text, language=None, wrap_lines=True)
