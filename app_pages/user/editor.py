"""Editor: paste text, pick an operation, get the model's edit for one token."""

import streamlit as st

from app_pages.components import common, session
from textedit_core.demo.samples import sample_texts
from textedit_core.editing.jobs import FREE_RESULT_NOTE
from textedit_core.editing.operations import OPERATIONS
from textedit_core.errors import DomainError, ModelError
from textedit_core.usecases import editor

account = session.require_account()
svc = common.app_services()
limit = svc.settings.max_input_chars

st.title("Editor")

status = common.model_status()
if not status.reachable:
    st.warning(
        f"The model service is not reachable at {common.escape_markdown(svc.gateway.host)}. Start Ollama "
        "(`ollama serve`) — requests would fail and be refunded until then."
    )
elif not status.model_installed:
    st.warning(f"The model is not installed. Run `ollama pull {svc.gateway.model}`.")

if account.balance <= 0:
    st.info("Your balance is 0 tokens. Each edit costs 1 token.")
    st.page_link(
        "app_pages/user/wallet.py", label="Top up your wallet", icon=":material/account_balance_wallet:"
    )

if svc.settings.demo_mode:
    samples = sample_texts()

    def _load_sample() -> None:
        sample = samples[st.session_state["editor_sample"]]
        st.session_state["editor_text"] = sample.text
        st.session_state["editor_operation"] = sample.operation

    st.selectbox(
        "Try an example",
        range(len(samples)),
        format_func=lambda i: f"{samples[i].title} ({samples[i].language.upper()})",
        index=None,
        placeholder="Pick a sample text…",
        key="editor_sample",
        on_change=_load_sample,
    )

text = st.text_area(
    "Your text",
    key="editor_text",
    height=220,
    max_chars=limit,
    placeholder="Paste or type the text to improve…",
    help=f"Up to {limit:,} characters. Split longer texts into parts.",
    # Committed without a rerun: a rerun started by the blur of a click elsewhere (the sidebar's
    # Wallet, "Top up your wallet") swallowed that click. The text travels with the next rerun.
    on_change="ignore",
)
operation = st.segmented_control(
    "Operation",
    options=list(OPERATIONS),
    format_func=lambda key: OPERATIONS[key].label,
    default="fix",
    key="editor_operation",
    required=True,
)
st.caption("1 token per request")

if st.button("Run", type="primary", disabled=account.balance <= 0, key="editor_run"):
    try:
        job = editor.start_edit(svc, session.token(), operation, text)
    except DomainError as error:
        common.show_error(str(error))
    else:
        try:
            with st.container(border=True):
                st.write_stream(common.escape_markdown_stream(job.stream()))
        except ModelError as error:
            common.show_error(str(error))
        else:
            st.session_state["editor_result"] = job.result
            if job.result.charged:
                common.flash("success", "Done: 1 token used.")
            else:
                common.flash("info", FREE_RESULT_NOTE)
            st.rerun()

result = st.session_state.get("editor_result")
if result is not None:
    st.subheader(f"Result · {OPERATIONS[result.operation].label}")
    st.code(result.text, language=None, wrap_lines=True)
    if result.not_shorter:
        st.warning("The model could not make this text shorter.")
