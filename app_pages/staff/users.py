"""Users: search, filter, sort and page through every account; click one for its detail, where
admins act on it, approve or reject a sign-up that waits (TEXTEDIT_SIGNUP=approval); admins also
create accounts here. Each action states its effect and waits for a confirmation."""

import pandas as pd
import streamlit as st

from app_pages.components import language, session
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.common import app_services, escape_markdown
from app_pages.components.confirm import confirm
from app_pages.components.inputs import pager
from app_pages.components.staffview import (
    local,
    operation_name,
    signed,
    time_column,
    zone_name,
)
from textedit_core import i18n
from textedit_core.billing.txlabels import kind_label, status_label
from textedit_core.i18n import N_, _, ngettext
from textedit_core.identity import resets
from textedit_core.identity.roles import role_label
from textedit_core.infra.models import Role
from textedit_core.reports import users
from textedit_core.usecases import admin, staff

account = session.require_account(staff=True)
svc = app_services()
zone = language.time_zone(account.time_zone)
ROLES = [r.value for r in Role]
SORTS = {
    "created_at": N_("Created"),
    "last_login_at": N_("Last login"),
    "email": N_("Email"),
    "role": N_("Role"),
    "status": N_("Status"),
    "balance": N_("Balance"),
    "requests": N_("Requests made"),
    "tokens_spent": N_("Tokens spent"),
}
# What a role change means, stated in its confirmation.
ROLE_EFFECTS = {
    "user": N_("Users have the editor, the wallet and their account only."),
    "moderator": N_("Moderators can see all users and transactions, and change nothing."),
    "admin": N_("Admins can see everything, act on users and set the token rate."),
}
RESET_MINUTES = int(resets.LIFETIME.total_seconds() // 60)
# The reset code just issued, kept for the one run that shows it.
ISSUED_KEY = "users_issued_reset"
# The new account's code, likewise.
CREATED_KEY = "users_created_account"
# The status filter: (blocked, pending) for the query. A pending account is stored blocked.
STATUSES = {None: (None, None), "active": (False, None), "pending": (None, True), "blocked": (True, False)}

st.title(_("Users"), anchor=False)


def _show_code(issued: admin.ResetIssued, heading: str) -> None:
    """A one-time code just issued, shown once: only its hash is kept."""
    st.success(heading)
    st.code(issued.code, language=None)
    if issued.emailed:
        st.caption(_("It was also emailed to the user."))
    elif issued.emailed is False:
        st.warning(_("The email could not be sent: give the user the code yourself."))
    st.caption(_("Copy it now: it is not shown again. Issuing another code replaces this one."))


if account.is_admin:
    created = st.session_state.pop(CREATED_KEY, None)
    if created is not None:
        _show_code(
            created,
            _(
                "Created an account for {email}. Its code to set a password, valid once until {until}:",
                email=escape_markdown(created.email),
                until=i18n.format_datetime(created.expires_at, zone),
            ),
        )
    # Collapsed, it renders nothing: the form is built only once an admin opens it.
    create_box = st.expander(_("Create an account"), key="users_create_open", on_change="rerun")
    if create_box.open:
        with create_box:
            st.caption(
                ngettext(
                    "The account is active at once. Its owner sets a password on the login page with "
                    "a one-time code, valid for {n} minute, that you are shown next.",
                    "The account is active at once. Its owner sets a password on the login page with "
                    "a one-time code, valid for {n} minutes, that you are shown next.",
                    RESET_MINUTES,
                )
            )
            with st.form("create_form"):
                new_email = st.text_input(_("Email"), key="create_email")
                create = st.form_submit_button(_("Create account"), type="primary")
            if create:

                def _create() -> None:
                    st.session_state[CREATED_KEY] = admin.create_account(svc, session.token(), new_email)

                confirm(
                    _("Create the account?"),
                    _(
                        "An active account for **{email}**, and a one-time code for its owner to set "
                        "a password.",
                        email=escape_markdown(new_email.strip()),
                    ),
                    _("Create account"),
                    _create,
                    _("Created an account for {email}.", email=new_email.strip()),
                )


def _first_page() -> None:
    st.session_state["users_page"] = 1


# Option labels are made here, in this run's language: a format_func may also be called later,
# outside the run (AppTest does), where the language is not known.
role_names = {None: _("Any"), **{r: role_label(r) for r in ROLES}}
search_col, role_col, status_col = st.columns([2, 1, 1])
search = search_col.text_input(
    _("Email contains"), key="users_search", on_change=_first_page, placeholder=_("e.g. anna or @example.com")
)
role = role_col.selectbox(
    _("Role"),
    [None, *ROLES],
    format_func=role_names.get,
    key="users_role",
    on_change=_first_page,
)
status = status_col.selectbox(
    _("Status"),
    list(STATUSES),
    format_func={
        None: _("Any"),
        "active": _("Active"),
        "pending": _("Waiting for approval"),
        "blocked": _("Blocked"),
    }.get,
    key="users_status",
    on_change=_first_page,
)
sort_col, order_col, size_col, page_col = st.columns([2, 1, 1, 1])
sort = sort_col.selectbox(
    _("Sort by"),
    list(SORTS),
    format_func={s: _(label) for s, label in SORTS.items()}.get,
    key="users_sort",
    on_change=_first_page,
)
descending = order_col.selectbox(
    _("Order"),
    [True, False],
    format_func={True: _("Descending"), False: _("Ascending")}.get,
    key="users_order",
)
page_size, page_number = pager(size_col, page_col, "users", _first_page)

blocked_filter, pending_filter = STATUSES[status]
query = users.UserQuery(
    search, role, blocked_filter, sort, descending, page_number, page_size, pending=pending_filter
)
result = loaded(lambda: staff.search_users(svc, session.token(), query))
waiting = loaded(lambda: staff.search_users(svc, session.token(), users.UserQuery(pending=True, page_size=1)))
if waiting.total and status != "pending":
    st.info(
        ngettext(
            "{n} sign-up waits for an admin's approval: set Status to “Waiting for approval” to see it.",
            "{n} sign-ups wait for an admin's approval: set Status to “Waiting for approval” to see them.",
            waiting.total,
        )
    )

if result.page > result.pages:
    st.info(
        ngettext(
            "There is only {n} page for this search.",
            "There are only {n} pages for this search.",
            result.pages,
        )
    )
st.caption(
    ngettext(
        "{n} user · page {page} of {pages}",
        "{n} users · page {page} of {pages}",
        result.total,
        page=i18n.format_number(result.page),
        pages=i18n.format_number(result.pages),
    )
)
here = zone_name(zone)
table = st.dataframe(
    pd.DataFrame(
        [
            {
                **row.__dict__,
                "role": role_label(row.role),
                "status": users.status_label(row.status),
                "created_at": local(row.created_at, zone),
                "last_login_at": local(row.last_login_at, zone),
            }
            for row in result.rows
        ],
        columns=list(users.UserRow.__dataclass_fields__),
    ),
    hide_index=True,
    column_config={
        "id": st.column_config.NumberColumn(_("ID"), format="%d"),
        "email": _("Email"),
        "role": _("Role"),
        "status": _("Status"),
        "balance": st.column_config.NumberColumn(_("Balance"), format="%d"),
        "created_at": time_column(_("Created ({zone})", zone=here)),
        "last_login_at": time_column(_("Last login ({zone})", zone=here)),
        "requests": st.column_config.NumberColumn(_("Requests made"), format="%d"),
        "tokens_spent": st.column_config.NumberColumn(_("Tokens spent"), format="%d"),
    },
    on_select="rerun",
    selection_mode="single-row",
    # One selection per listing: another search, sort or page starts with none.
    key=f"users_table_{query}",
)
picked = [i for i in table.selection.rows if i < len(result.rows)]
if not picked:
    st.caption(_("Click a row to see that user's details."))
    st.stop()

detail = loaded(lambda: staff.user_detail(svc, session.token(), result.rows[picked[0]].id))
target = detail.profile
email = escape_markdown(target.email)
target_status = users.status_label(target.status)


def _when(moment) -> str:
    return i18n.format_datetime(moment, zone) if moment else _("never")


st.subheader(email)
role_col, status_col, balance_col, requests_col, spent_col = st.columns(5)
role_col.metric(_("Role"), role_label(target.role))
status_col.metric(_("Status"), target_status)
balance_col.metric(_("Balance"), i18n.format_number(target.balance))
requests_col.metric(_("Requests made"), i18n.format_number(target.requests))
spent_col.metric(_("Tokens spent"), i18n.format_number(target.tokens_spent))
st.caption(
    _(
        "ID {id} · created {created} · last login {last_login} · last active {last_active}",
        id=target.id,
        created=_when(target.created_at),
        last_login=_when(target.last_login_at),
        last_active=_when(detail.last_active_at),
    )
)

tx_tab, devices_tab, audit_tab = st.tabs(
    [
        _("Last transactions ({count})", count=i18n.format_number(len(detail.transactions))),
        _("Signed in ({count})", count=i18n.format_number(len(detail.sessions))),
        _("Audit"),
    ]
)
with tx_tab:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    **t.__dict__,
                    "created_at": local(t.created_at, zone),
                    "kind": kind_label(t.kind),
                    "status": status_label(t.status),
                    "amount": "" if t.amount is None else i18n.format_decimal(t.amount, min_places=2),
                    "operation": operation_name(t.operation),
                }
                for t in detail.transactions
            ],
            columns=list(users.TxLine.__dataclass_fields__),
        ),
        hide_index=True,
        column_config={
            "id": st.column_config.NumberColumn(_("ID"), format="%d"),
            "created_at": time_column(_("When ({zone})", zone=here)),
            "kind": _("Kind"),
            "status": _("Status"),
            "tokens": st.column_config.NumberColumn(_("Tokens"), format="%+d"),
            "amount": st.column_config.TextColumn(_("Amount"), alignment="right"),
            "currency": _("Currency"),
            "operation": _("Operation"),
            "note": _("Note"),
        },
    )
with devices_tab:
    st.dataframe(
        pd.DataFrame(
            [
                (d.user_agent, d.ip_address, local(d.created_at, zone), local(d.last_used_at, zone))
                for d in detail.sessions
            ],
            columns=["device", "ip_address", "created_at", "last_used_at"],
        ),
        hide_index=True,
        column_config={
            "device": _("Device"),
            "ip_address": _("Address"),
            "created_at": time_column(_("Signed in ({zone})", zone=here)),
            "last_used_at": time_column(_("Last used ({zone})", zone=here)),
        },
    )
with audit_tab:
    st.dataframe(
        pd.DataFrame(
            [(local(a.created_at, zone), a.actor, a.summary) for a in detail.audit],
            columns=["created_at", "actor", "what"],
        ),
        hide_index=True,
        column_config={
            "created_at": time_column(_("When ({zone})", zone=here)),
            "actor": _("By"),
            "what": _("What"),
        },
    )

if not account.is_admin:
    st.caption(_("Read-only: moderators can look but not change anything."))
    st.stop()
if target.id == account.id:
    st.caption(_("This is you: ask another admin to change your role, status or balance."))
    st.stop()

st.subheader(_("Act on {email}", email=email))
role_tab, status_tab, balance_tab, reset_tab = st.tabs(
    [_("Role"), _("Status"), _("Balance"), _("Password reset")]
)
with role_tab:
    new_role = st.selectbox(
        _("New role"), ROLES, index=ROLES.index(target.role), format_func=role_names.get, key="target_role"
    )
    if st.button(_("Save role"), key="save_role", disabled=new_role == target.role):
        confirm(
            _("Change the role?"),
            _(
                "**{email}**: {old_role} → {new_role}. {effect} "
                "Their open tabs switch to the new role's pages on the next click.",
                email=email,
                old_role=role_label(target.role),
                new_role=role_label(new_role),
                effect=_(ROLE_EFFECTS[new_role]),
            ),
            _("Change role"),
            lambda: admin.set_role(svc, session.token(), target.id, new_role),
            _("{email}'s role is now {role}.", email=target.email, role=role_label(new_role)),
        )
with status_tab:
    blocked = target.status == "blocked"
    st.write(_("{email} is **{status}**.", email=email, status=target_status))
    if target.status == "pending":
        approve_col, reject_col = st.columns(2)
        if approve_col.button(_("Approve sign-up"), key="approve_signup", type="primary"):
            grant = svc.settings.signup_tokens
            confirm(
                _("Approve the sign-up?"),
                _("**{email}** can log in and use the app from now on.", email=email)
                + (
                    " "
                    + ngettext(
                        "Their account gets its {n} free token.",
                        "Their account gets its {n} free tokens.",
                        grant,
                    )
                    if grant
                    else ""
                ),
                _("Approve sign-up"),
                lambda: admin.approve_signup(svc, session.token(), target.id),
                _("{email} is approved and can log in.", email=target.email),
            )
        if reject_col.button(_("Reject sign-up"), key="reject_signup"):
            confirm(
                _("Reject the sign-up?"),
                _(
                    "**{email}** stays blocked and cannot log in. The account is kept, with its "
                    "history; you can still unblock it later.",
                    email=email,
                ),
                _("Reject sign-up"),
                lambda: admin.reject_signup(svc, session.token(), target.id),
                _("{email}'s sign-up is rejected.", email=target.email),
            )
    elif st.button(_("Unblock user") if blocked else _("Block user"), key="toggle_block"):
        if blocked:
            effect = _("**{email}** can log in again. Sessions ended by the block stay ended.", email=email)
        else:
            effect = _(
                "Blocking ends all of **{email}**'s sessions at once; they cannot log in until unblocked.",
                email=email,
            )
        confirm(
            _("Unblock the user?") if blocked else _("Block the user?"),
            effect,
            _("Unblock user") if blocked else _("Block user"),
            lambda: admin.set_blocked(svc, session.token(), target.id, not blocked),
            _("{email} is active again.", email=target.email)
            if blocked
            else _("{email} is blocked.", email=target.email),
        )
with balance_tab:
    st.write(ngettext("Balance: **{n} token**", "Balance: **{n} tokens**", target.balance))
    with st.form("adjust_form"):
        tokens = st.text_input(
            _("Tokens to add (negative to remove)"), key="adjust_tokens", placeholder=_("e.g. 50 or -10")
        )
        reason = st.text_input(_("Reason (required, kept in the ledger)"), key="adjust_reason", max_chars=255)
        adjust = st.form_submit_button(_("Adjust balance"), type="primary")
    if adjust:
        with shown_errors():
            # Checked in full first, so the confirmation states what will really happen.
            checked = admin.check_adjustment(svc, session.token(), target.id, tokens, reason)
            confirm(
                _("Adjust the balance?"),
                ngettext(
                    "**{email}**: {before} → {n} token ({change}), reason: {reason}",
                    "**{email}**: {before} → {n} tokens ({change}), reason: {reason}",
                    checked.balance_after,
                    email=email,
                    before=i18n.format_number(checked.balance_before),
                    change=signed(checked.tokens),
                    reason=escape_markdown(checked.reason),
                ),
                _("Adjust balance"),
                lambda: admin.adjust_balance(svc, session.token(), target.id, tokens, reason),
                ngettext(
                    "Adjusted {email}'s balance by {change} token.",
                    "Adjusted {email}'s balance by {change} tokens.",
                    abs(checked.tokens),
                    email=target.email,
                    change=signed(checked.tokens),
                ),
            )
with reset_tab:
    issued = st.session_state.pop(ISSUED_KEY, None)
    if issued is not None and issued.email == target.email:
        _show_code(
            issued,
            _(
                "Reset code for {email}, valid once until {until}:",
                email=email,
                until=i18n.format_datetime(issued.expires_at, zone),
            ),
        )
    st.caption(
        _(
            "A one-time code lets the user set a new password on the login page (Forgot your password?). "
            "Give it to them yourself, over a channel you trust."
        )
    )
    if st.button(_("Issue a reset code"), key="issue_reset"):

        def _issue() -> None:
            st.session_state[ISSUED_KEY] = admin.issue_password_reset(svc, session.token(), target.id)

        confirm(
            _("Issue a reset code?"),
            ngettext(
                "A one-time code for **{email}**, valid for {n} minute. Issuing it ends all of "
                "their sessions at once; an older code stops working.",
                "A one-time code for **{email}**, valid for {n} minutes. Issuing it ends all of "
                "their sessions at once; an older code stops working.",
                RESET_MINUTES,
                email=email,
            ),
            _("Issue code"),
            _issue,
            _("Issued a reset code for {email}.", email=target.email),
        )
