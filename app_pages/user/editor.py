"""Editor: paste text, pick an operation, get the model's edit for one token, review it change
by change. The draft (text, operation, last result) lives on the server."""

import time
from contextlib import closing
from datetime import datetime

import streamlit as st

from app_pages.components import common, draft, language, reviewview, session, sidebar
from app_pages.components.actions import loaded, shown_errors
from textedit_core import i18n
from textedit_core.demo.samples import sample_texts
from textedit_core.editing import review as changes
from textedit_core.editing.drafts import DraftState
from textedit_core.editing.jobs import FREE_RESULT_NOTE
from textedit_core.editing.operations import OPERATIONS
from textedit_core.editing.queue import Turn
from textedit_core.errors import DomainError, ModelError
from textedit_core.i18n import _, ngettext
from textedit_core.usecases import editor, models

account = session.require_account()
svc = common.app_services()
limit = svc.settings.max_input_chars
zone = language.time_zone(account.time_zone)

# Set by buttons' callbacks for the run they start.
AUTORUN_KEY = "editor_autorun"  # Run, Retry, and History's "Run again"
STOPPED_KEY = "editor_stopped"
REVIEW_VERSION_KEY = "review_version"  # bumped to reset the change list (accept/reject all)
# How often the "Writing…" view is redrawn while the answer streams.
REDRAW_SECONDS = 0.15

# An edit's outcome ("Done: 1 token used."), where a flash message shows: the run that streamed
# the answer shows its result too, without a second run of the whole app.
notice = st.empty()
st.title(_("Editor"), anchor=False)

state = loaded(lambda: editor.load_draft(svc, session.token()))
if draft.TEXT_KEY not in st.session_state:
    # A new browser session, or back from another page: the widgets start from the server's draft.
    draft.show(state)

status = common.model_status()
# The models a writer may choose that some host has installed.
choice = loaded(lambda: models.available_models(svc, session.token()))
# Run needs the app's model, or another one to choose instead of it.
model_ready = status.reachable and (status.model_installed or bool(choice.available))
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
    elif model_ready:
        st.info(_("The usual model is being set up: choose another model below for now."))
    else:
        st.warning(_("The model is being set up. Run comes back once it is; try again later."))

if not model_ready:

    @st.fragment(run_every=15)
    def _watch_model() -> None:
        # Checked again in the background: Run comes back without a click once the model answers.
        fresh = common.model_status()
        if fresh.reachable and fresh.model_installed:
            st.rerun(scope="app")

    _watch_model()

balance_note = st.empty()


def _show_balance_note(balance: int) -> None:
    if balance <= 0:
        with balance_note.container():
            st.info(_("Your balance is 0 tokens. Each edit costs 1 token."))
            st.page_link(
                "app_pages/user/wallet.py",
                label=_("Top up your wallet"),
                icon=":material/account_balance_wallet:",
            )


_show_balance_note(account.balance)

draft_error = st.session_state.pop(draft.ERROR_KEY, None)
if draft_error:
    common.show_error(_("Your text could not be kept: {problem}", problem=draft_error))

if svc.settings.demo_mode:
    samples = sample_texts()
    sample_labels = {i: f"{sample.title} ({sample.language.upper()})" for i, sample in enumerate(samples)}

    def _load_sample() -> None:
        sample = samples[st.session_state["editor_sample"]]
        st.session_state[draft.TEXT_KEY] = sample.text
        st.session_state[draft.OPERATION_KEY] = sample.operation

    st.selectbox(
        _("Try an example"),
        range(len(samples)),
        format_func=lambda i: sample_labels[i],
        index=None,
        placeholder=_("Pick a sample text…"),
        key="editor_sample",
        on_change=_load_sample,
    )

with draft.carried_across_pages():
    text = st.text_area(
        _("Your text"),
        key=draft.TEXT_KEY,
        height=220,
        placeholder=_("Paste or type the text to improve…"),
        help=_("Split longer texts into parts."),
        # Committed without a rerun: the rerun a blur starts is sent after the click that caused
        # it, so a click on another page (the sidebar's Wallet, "Top up your wallet") was undone.
        # The text travels with the next rerun, a page switch included (carried_across_pages).
        # No max_chars: the browser would drop a longer paste without a word; the page says so instead.
        on_change="ignore",
    )
length = len(text or "")
too_long = length > limit
# No live counter: Streamlit counts only with max_chars, which drops a longer paste without a
# word. The limit is stated, and a text over it is measured and offered a cut below.
st.caption(_("Up to {limit} characters per request.", limit=i18n.format_number(limit)))
if too_long:

    def _keep_first_part() -> None:
        whole = st.session_state[draft.TEXT_KEY]
        cut = whole[:limit]
        # Not in the middle of a word, when a space is near the end.
        space = max(cut.rfind(" "), cut.rfind("\n"))
        st.session_state[draft.TEXT_KEY] = cut[:space] if space > 0 and space > limit - 200 else cut

    st.warning(
        ngettext(
            "The text has {n} character; one request takes at most {limit}. Split it into parts, "
            "or keep the first part and run that.",
            "The text has {n} characters; one request takes at most {limit}. Split it into parts, "
            "or keep the first part and run that.",
            length,
            limit=i18n.format_number(limit),
        )
    )
    st.button(
        _("Keep the first {limit} characters", limit=i18n.format_number(limit)),
        key="editor_keep_first",
        on_click=_keep_first_part,
    )

operation = st.segmented_control(
    _("Operation"),
    options=list(OPERATIONS),
    format_func=lambda key: _(OPERATIONS[key].label),
    key=draft.OPERATION_KEY,
    required=True,
)
# The model: offered only when there is a choice, the operation's own first. One choice per
# operation (its key), so switching operations starts from that operation's own model.
model_options = choice.options(operation)
chosen_model = None
if len(model_options) > 1:
    picked = st.selectbox(
        _("Model"),
        model_options,
        format_func=lambda name: _("{model} (default)", model=name) if name == model_options[0] else name,
        key=f"editor_model_{operation}",
        width=320,
    )
    chosen_model = None if picked == model_options[0] else picked


def _run() -> None:
    st.session_state[AUTORUN_KEY] = True


def _stop() -> None:
    st.session_state[STOPPED_KEY] = True


def _clear() -> None:
    draft.push_undo(state)
    with shown_errors():
        editor.clear_draft(svc, session.token())
        draft.show(DraftState(text="", operation=state.operation, result=None))


def _show_turn(slot, turn: Turn) -> None:
    """Where a request waiting for a free model stands in line."""
    with slot.container(border=True):
        st.markdown(
            _(
                "Every model is busy. You are number {position} in line.",
                position=i18n.format_number(turn.position),
            )
        )
        if turn.estimate_seconds is not None:
            seconds = max(1, round(turn.estimate_seconds))
            st.caption(ngettext("About {n} second to wait.", "About {n} seconds to wait.", seconds))
        st.caption(
            _("Your token is reserved: it comes back if the request never runs, or when you press Stop.")
        )


run_requested = st.session_state.pop(AUTORUN_KEY, False) and model_ready and not too_long
run_column, clear_column = st.columns([3, 1], vertical_alignment="center")
run_slot = run_column.empty()


def _run_button(balance: int) -> None:
    # Drawn once per run (a key may appear once): at once, or, in a run that edits, in place of
    # its Stop once the edit has ended. A callback, so the click counts whichever run drew it.
    run_slot.button(
        _("Run"),
        type="primary",
        disabled=balance <= 0 or not model_ready or too_long,
        key="editor_run",
        shortcut="Mod+Enter",
        help=_("Ctrl+Enter (⌘+Enter on a Mac) runs it too."),
        on_click=_run,
    )


if not run_requested:
    _run_button(account.balance)
clear_column.button(
    _("Clear"),
    key="editor_clear",
    on_click=_clear,
    disabled=not (text or state.result),
    width="stretch",
)
st.caption(_("1 token per request. Stop returns the token: only a complete answer is charged."))

if st.session_state.pop(STOPPED_KEY, False):
    st.info(_("Stopped before the answer was complete. Your token was returned."))

failed = False
if run_requested:
    balance = account.balance
    try:
        job = editor.start_edit(svc, session.token(), operation, text, model=chosen_model)
    except DomainError as error:
        common.show_error(str(error))
        failed = True
    else:
        draft.push_undo(state)
        st.session_state[draft.SAVED_KEY] = (text, operation)
        run_slot.button(_("Stop"), key="editor_stop", on_click=_stop, icon=":material/stop_circle:")
        writing = st.empty()
        # Shown until the first words come (a model on a CPU may think for seconds first).
        writing.container(border=True).caption(_("Waiting for the model…"))
        pieces: list[str] = []
        drawn = 0.0
        # closing(): a Stop (a rerun raised inside this loop) ends the model call and returns the
        # token at once, before the next run reads the balance; not whenever the job is collected.
        try:
            shown_turn = None
            with closing(job.wait()) as turns:
                for turn in turns:
                    if turn != shown_turn:
                        _show_turn(writing, turn)
                        shown_turn = turn
            with closing(job.stream()) as answer:
                for piece in answer:
                    pieces.append(piece)
                    if time.monotonic() - drawn >= REDRAW_SECONDS:
                        # A transient view of the raw answer: the result shown after is only the
                        # text the guard accepted.
                        with writing.container(border=True):
                            st.caption(
                                ngettext(
                                    "Writing… {n} token so far", "Writing… {n} tokens so far", len(pieces)
                                )
                            )
                            st.markdown(common.escape_markdown("".join(pieces)))
                        drawn = time.monotonic()
        except ModelError as error:
            writing.empty()
            common.show_error(str(error))
            failed = True
            st.button(
                _("Retry"),
                key="editor_retry",
                icon=":material/refresh:",
                on_click=_run,
            )
        else:
            kind = "info"
            if job.result is not None and job.result.from_cache:
                if job.result.charged:
                    note = _("From the cache: this exact request was answered before; 1 token used.")
                else:
                    note = _("From the cache: this exact request was answered before; no token used.")
            elif job.result is not None and job.result.charged:
                kind, note = "success", _("Done: 1 token used.")
            else:
                note = _(FREE_RESULT_NOTE)
            # Shown in this run, no second run of the whole app: what the page drew before the
            # answer (the balance, Stop, the last result) is redrawn in place below.
            writing.empty()
            fresh = session.current_account()
            if fresh is None:
                # The login ended or expired meanwhile: the whole app runs again to restore it.
                common.flash(kind, note)
                st.rerun()
            balance = fresh.balance
            # The draft as the edit left it, its result with the model that wrote it.
            state = loaded(lambda: editor.load_draft(svc, session.token()))
            common.notify(kind, note, slot=notice)
            sidebar.show_balance(balance)
            _show_balance_note(balance)
            # A new result is reviewed from scratch: every change accepted.
            st.session_state[REVIEW_VERSION_KEY] = st.session_state.get(REVIEW_VERSION_KEY, 0) + 1
            st.session_state["review_all"] = True
    _run_button(balance)

undo_stack = st.session_state.get(draft.UNDO_KEY) or []
if undo_stack:

    def _undo() -> None:
        previous = draft.pop_undo()
        if previous is not None:
            with shown_errors():
                draft.show(editor.restore_draft(svc, session.token(), previous))

    st.button(_("Undo"), key="editor_undo_button", icon=":material/undo:", on_click=_undo)

result = state.result
if result is not None and not failed:
    st.subheader(_("Result · {operation}", operation=_(OPERATIONS[result.operation].label)))
    found = reviewview.compared(result.source, result.text)
    version = st.session_state.get(REVIEW_VERSION_KEY, 0)
    decisions_key = f"review_decisions_{version}"
    accepted: set[int] = {change.id for change in found.changes}
    if not found.changes:
        st.info(_("No changes: the model returned your text as it was."))
    else:
        view = st.segmented_control(
            _("View"),
            options=["inline", "side"],
            format_func=lambda key: {"inline": _("Changes inline"), "side": _("Side by side")}[key],
            default="inline",
            key="review_view",
        )
        all_on = st.session_state.get("review_all", True)
        table = st.data_editor(
            [
                {
                    "keep": all_on,
                    "number": change.id + 1,
                    "removed": change.removed,
                    "inserted": change.inserted,
                }
                for change in found.changes
            ],
            column_config={
                "keep": st.column_config.CheckboxColumn(_("Accept"), width="small"),
                "number": st.column_config.NumberColumn("#", width="small"),
                "removed": st.column_config.TextColumn(_("Original")),
                "inserted": st.column_config.TextColumn(_("Edited")),
            },
            disabled=["number", "removed", "inserted"],
            hide_index=True,
            key=decisions_key,
        )
        accepted = {row["number"] - 1 for row in table if row["keep"]}

        def _set_all(keep: bool) -> None:
            st.session_state["review_all"] = keep
            st.session_state[REVIEW_VERSION_KEY] = version + 1

        accept_all, reject_all = st.columns(2)
        accept_all.button(
            _("Accept all"), key="review_accept_all", on_click=_set_all, args=(True,), width="stretch"
        )
        reject_all.button(
            _("Reject all"), key="review_reject_all", on_click=_set_all, args=(False,), width="stretch"
        )
        st.caption(
            ngettext(
                "{accepted} of {n} change accepted.",
                "{accepted} of {n} changes accepted.",
                len(found.changes),
                accepted=i18n.format_number(len(accepted)),
            )
        )
        if view == "side":
            left, right = st.columns(2)
            left.markdown(f"**{_('Original')}**")
            left.html(reviewview.side_html(found, accepted, "original"))
            right.markdown(f"**{_('Edited')}**")
            right.html(reviewview.side_html(found, accepted, "edited"))
        else:
            st.html(reviewview.inline_html(found, accepted))

    final = changes.apply(found, accepted)
    st.markdown(f"**{_('Final text')}**")
    st.code(final, language=None, wrap_lines=True)

    def _use_as_input() -> None:
        draft.push_undo(state)
        with shown_errors():
            draft.show(editor.replace_draft(svc, session.token(), final, result.operation))
            st.session_state[REVIEW_VERSION_KEY] = version + 1
            st.session_state["review_all"] = True

    st.button(
        _("Use as new input"),
        key="review_use",
        icon=":material/arrow_upward:",
        on_click=_use_as_input,
        help=_("Puts the final text in the box above, to run another operation on it."),
    )
    st.markdown(f"**{_('Download')}**")
    reviewview.downloads(
        reviewview.document_for(result.operation, datetime.now(zone), result.source, final, result.model),
        key="editor_download",
    )
