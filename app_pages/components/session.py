"""The browser session: who is signed in, and the bridge that keeps the login across reloads.

The refresh token lives in an HttpOnly cookie that only the routes in serve.py can set or clear.
The bridge is a tiny script component that calls those routes from the page (same origin) and
hands the result back to Python: after login (cookie from a one-time code), to renew the access
token (rotating the cookie), and on logout (clearing it).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import streamlit as st

from app_pages.components.common import app_services, flash
from textedit_core.errors import AuthenticationFailed
from textedit_core.i18n import _
from textedit_core.identity.accounts import Account
from textedit_core.infra.clientaddr import client_address
from textedit_core.infra.coltypes import utcnow
from textedit_core.usecases import signin

TOKEN_KEY = "access_token"
PENDING_KEY = "bridge_pending"
COOKIE_REFUSED_KEY = "cookie_refused"
BRIDGE_KEY = "session_bridge"
# Renew the access token when less than this is left, at the end of a run (never mid-answer).
RENEW_BEFORE_SECONDS = 300
# The login handoff code lives 60 s: after that, offering it again is pointless.
UNANSWERED_ACTION_SECONDS = 60

_BRIDGE_JS = """
const handled = new Set();
const paths = {handoff: "/auth/session", refresh: "/auth/refresh", logout: "/auth/logout"};
export default function ({ data, setTriggerValue }) {
  if (!data || !data.nonce || handled.has(data.nonce)) return;
  handled.add(data.nonce);
  // Only a refresh answers back: an answer reruns the script, and a rerun racing a click on
  // the page can swallow that click. Handoff and logout need no answer.
  const report = (status, body) => data.action === "refresh" && setTriggerValue("result", {
    nonce: data.nonce, action: data.action, status, access_token: (body && body.access_token) || null,
  });
  const call = () => fetch(paths[data.action], {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: {"Content-Type": "application/json", "X-TextEdit-Bridge": "1"},
    body: JSON.stringify(data.code ? {code: data.code} : {}),
  })
    .then(async (response) => {
      const json = (response.headers.get("content-type") || "").includes("json");
      report(response.status, json ? await response.json() : null);
    })
    .catch(() => report(0, null));
  // Tabs of one browser share the cookie: refresh one tab at a time, so each sends the token
  // the previous one received (two at once would look like token reuse and end the login).
  if (data.action === "refresh" && navigator.locks) {
    navigator.locks.request("textedit-session-refresh", call);
  } else {
    call();
  }
}
"""
_bridge = st.components.v2.component("textedit_session_bridge", js=_BRIDGE_JS)


@dataclass(frozen=True)
class Visitor:
    """What the entrypoint needs: the verified account, or the role to keep while restoring."""

    account: Account | None
    restoring_role: str | None = None


def _client_ip() -> str | None:
    settings = app_services().settings
    forwarded = None
    if settings.trusted_proxies:
        # Every line of the header in order: a proxy appends to the list, and a client may send
        # lines of its own before the proxies'.
        lines = st.context.headers.get_all(settings.client_ip_header)
        forwarded = ",".join(line for line in lines if isinstance(line, str))
    return client_address(st.context.ip_address, forwarded, settings.trusted_proxies)


def client() -> signin.Client:
    ip_address, user_agent = _client_ip(), st.context.headers.get("User-Agent")
    return signin.Client(
        ip_address=ip_address if isinstance(ip_address, str) else None,
        user_agent=user_agent if isinstance(user_agent, str) else None,
    )


def _request(action: str, code: str | None = None) -> None:
    st.session_state[PENDING_KEY] = {
        "action": action,
        "nonce": secrets.token_hex(8),
        "code": code,
        "until": time.monotonic() + UNANSWERED_ACTION_SECONDS,
    }


def _on_bridge_result() -> None:
    result = (st.session_state.get(BRIDGE_KEY) or {}).get("result") or {}
    pending = st.session_state.get(PENDING_KEY)
    if not pending or result.get("nonce") != pending["nonce"]:
        return
    del st.session_state[PENDING_KEY]
    if result.get("status") == 200 and result.get("access_token"):
        st.session_state[TOKEN_KEY] = result["access_token"]
    else:
        # Refused (expired, revoked, reused): the cookie captured when this tab connected is
        # no good either, so do not try it again in this tab.
        st.session_state.pop(TOKEN_KEY, None)
        st.session_state[COOKIE_REFUSED_KEY] = True
        flash("warning", _("Your session has ended. Please log in again."))


def render_bridge() -> None:
    """Run the pending cookie action, if any. Invisible."""
    pending = st.session_state.get(PENDING_KEY)
    if pending:
        _bridge(
            key=BRIDGE_KEY,
            data={"action": pending["action"], "nonce": pending["nonce"], "code": pending["code"]},
            on_result_change=_on_bridge_result,
            height=0,
        )
        if pending["action"] != "refresh" and time.monotonic() > pending["until"]:
            # Handoff and logout do not answer (see the script). They are offered again on every
            # run for a minute, in case a quick click replaced the page before the script ran;
            # the script runs each nonce once.
            del st.session_state[PENDING_KEY]


def current_account() -> Account | None:
    """The verified account of this tab's access token (user re-read from the database)."""
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return None
    try:
        account, _claims = signin.current(app_services(), token)
    except AuthenticationFailed:
        return None
    return account


def resolve() -> Visitor:
    """Decide who this run is for, asking the bridge to renew or restore the login if needed."""
    svc = app_services()
    token = st.session_state.get(TOKEN_KEY)
    if token:
        try:
            account, claims = signin.current(svc, token)
        except AuthenticationFailed as error:
            expired = signin.claims_for_refresh(svc, token)
            if expired is None:
                st.session_state.pop(TOKEN_KEY, None)
                flash("warning", str(error))
                return Visitor(None)
            if not st.session_state.get(PENDING_KEY):
                _request("refresh")
            return Visitor(None, restoring_role=signin.restoring_role(svc, expired.user_id))
        if (claims.expires_at - utcnow()).total_seconds() < RENEW_BEFORE_SECONDS and not st.session_state.get(
            PENDING_KEY
        ):
            _request("refresh")
        return Visitor(account)
    cookie = st.context.cookies.get(signin.REFRESH_COOKIE)
    # isinstance: AppTest's context answers placeholders rather than strings.
    if isinstance(cookie, str) and cookie and not st.session_state.get(COOKIE_REFUSED_KEY):
        owner = signin.peek(svc, cookie)
        if owner is not None:
            if not st.session_state.get(PENDING_KEY):
                _request("refresh")
            return Visitor(None, restoring_role=owner.role)
    return Visitor(None)


def give_up_restoring() -> None:
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state.pop(PENDING_KEY, None)
    st.session_state[COOKIE_REFUSED_KEY] = True


def sign_in(signed_in: signin.SignedIn) -> None:
    st.session_state[TOKEN_KEY] = signed_in.access_token
    st.session_state.pop(COOKIE_REFUSED_KEY, None)
    _request("handoff", signed_in.handoff_code)


def _claims():
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return None
    try:
        return signin.current(app_services(), token)[1]
    except AuthenticationFailed:
        return None


def _forget_this_tab() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state[COOKIE_REFUSED_KEY] = True
    _request("logout")


def sign_out() -> None:
    """End this device's session: the token is revoked now, the cookie cleared by the bridge."""
    claims = _claims()
    if claims is not None:
        signin.logout(app_services(), claims.session_id)
    _forget_this_tab()


def sign_out_everywhere(user_id: int) -> None:
    signin.logout_everywhere(app_services(), user_id)
    _forget_this_tab()


def token() -> str | None:
    """This tab's access token, for the use cases (each checks it in its own transaction)."""
    return st.session_state.get(TOKEN_KEY)


def require_account(*, admin: bool = False, staff: bool = False) -> Account:
    """Top-of-page guard: stop the page unless the visitor may see it."""
    account = current_account()
    if account is None:
        st.warning(_("Please log in first."))
        st.stop()
    if (admin and not account.is_admin) or (staff and not account.is_staff):
        st.error(_("This page is for administrators.") if admin else _("This page is for staff."))
        st.stop()
    return account
