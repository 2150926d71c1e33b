"""ASGI entry (`streamlit run serve.py`): the Streamlit app plus the session-cookie routes.

The routes are the only place that sets or clears the HttpOnly refresh-token cookie; a running
Streamlit script cannot set cookies. The page's session bridge (app_pages/components/session.py) calls them.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import hmac
import json
import logging
import re
import shutil
import tempfile
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textedit_core import i18n
from textedit_core.bootstrap import Services, shared
from textedit_core.errors import NotAuthorized, ValidationError
from textedit_core.i18n import _
from textedit_core.infra import metrics
from textedit_core.infra.clientaddr import client_address, is_loopback
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Settings, load_settings
from textedit_core.infra.connlimits import MessageBudget, OpenConnections
from textedit_core.usecases import signin, transactions

COOKIE = signin.REFRESH_COOKIE
BRIDGE_HEADER = "x-textedit-bridge"


@cache
def settings() -> Settings:
    # Read once per process (not per request).
    return load_settings()


@cache
def services() -> Services:
    # The pages share these Services; the first call migrates and reconciles (bootstrap), so
    # what runs on the event loop for every connection reads settings() instead.
    return shared(settings())


def _same_origin(request: Request) -> bool:
    """CSRF: require the bridge's custom header (forces a CORS preflight cross-site) and,
    when the browser sends one, an Origin equal to this host."""
    if request.headers.get(BRIDGE_HEADER) != "1":
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _over_https(scheme: str, headers: Headers) -> bool:
    """Whether the request reached us, or the TLS-terminating proxy in front, over HTTPS."""
    return scheme == "https" or headers.get("x-forwarded-proto", "") == "https"


def _secure(request: Request) -> bool:
    return services().settings.cookie_secure or _over_https(request.url.scheme, request.headers)


def _with_cookie(response: Response, request: Request, refreshed: signin.Refreshed) -> Response:
    response.set_cookie(
        COOKIE,
        refreshed.refresh_token,
        max_age=max(1, int((refreshed.expires_at - utcnow()).total_seconds())),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.headers["cache-control"] = "no-store"
    return response


def _cleared(status: int, request: Request) -> Response:
    response = Response(status_code=status)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    response.headers["cache-control"] = "no-store"
    return response


async def _code(request: Request) -> str:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return ""
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else ""


async def session_cookie(request: Request) -> Response:
    """POST /auth/session {"code"}: after a login, trade the one-time code for the cookie."""
    if not _same_origin(request):
        return Response(status_code=403)
    code = await _code(request)
    refreshed = await run_in_threadpool(signin.redeem_handoff, services(), code)
    if refreshed is None:
        # Keep whatever cookie is there: a repeated code must not undo the first trade.
        return Response(status_code=401)
    return _with_cookie(Response(status_code=204), request, refreshed)


async def refresh(request: Request) -> Response:
    """POST /auth/refresh: rotate the cookie's refresh token; answer a new access token."""
    if not _same_origin(request):
        return Response(status_code=403)
    result = await run_in_threadpool(signin.refresh, services(), request.cookies.get(COOKIE, ""))
    if result is None:
        return _cleared(401, request)
    access_token, refreshed = result
    return _with_cookie(JSONResponse({"access_token": access_token}), request, refreshed)


async def logout(request: Request) -> Response:
    """POST /auth/logout: end this device's session and clear the cookie."""
    if not _same_origin(request):
        return Response(status_code=403)
    await run_in_threadpool(signin.logout_by_refresh_token, services(), request.cookies.get(COOKIE, ""))
    return _cleared(204, request)


async def export_transactions(request: Request) -> Response:
    """GET /export/transactions.{csv,xlsx}?from&to&user&kind&status&currency, admins only.

    Streams the whole filtered set with bounded memory. Authenticated by the session cookie
    (peeked, not rotated); a cross-site request is refused (Fetch Metadata) so another site
    cannot make an admin's browser run exports.
    """
    # Set for the rest of this request, the streamed rows included (read in its context): the
    # messages, then the export's column headers, in the browser's and then the admin's language.
    i18n.set_language(i18n.best_language(request.headers.get("accept-language")))
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "xlsx"):
        return PlainTextResponse(_("There is no export in that format: use CSV or XLSX."), status_code=404)
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return PlainTextResponse(
            _("This export was requested from another site. Open it from the Transactions page."),
            status_code=403,
        )
    svc, cookie, params = services(), request.cookies.get(COOKIE, ""), request.query_params
    account = await run_in_threadpool(signin.peek, svc, cookie)
    if account is not None and account.language:
        i18n.set_language(account.language)
    try:
        if fmt == "csv":
            export = await run_in_threadpool(transactions.export_csv, svc, cookie, params)
            return StreamingResponse(
                iterate_in_threadpool(export.chunks),
                media_type="text/csv; charset=utf-8",
                headers=_attachment(export.filename),
            )
        folder = tempfile.mkdtemp(prefix="textedit-export-")
        try:
            path = await run_in_threadpool(transactions.export_xlsx, svc, cookie, params, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    except NotAuthorized as error:
        return PlainTextResponse(str(error), status_code=403)
    except ValidationError as error:
        return PlainTextResponse(str(error), status_code=400)
    return FileResponse(
        path,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=_attachment(Path(path).name),
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


# Headers a reverse proxy adds: a request carrying one came through a proxy, even when the
# proxy runs on this machine (its connection is then local), so it is not a local request.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _bearer(request: Request) -> str:
    scheme, _space, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _metrics_refusal(request: Request) -> str | None:
    """Why this request may not read the metrics, or None: with a metrics token configured, it
    must carry it; without one, it must come from this machine itself (the connection's address,
    never a header a client could write)."""
    token = services().settings.metrics_token
    if token:
        if hmac.compare_digest(_bearer(request).encode(), token.encode()):
            return None
        return _("Send the metrics token: Authorization: Bearer <token>.")
    proxied = any(name in request.headers for name in (*PROXY_HEADERS, services().settings.client_ip_header))
    if request.client is not None and is_loopback(request.client.host) and not proxied:
        return None
    return _("Metrics are served only to this machine. Set TEXTEDIT_METRICS_TOKEN to scrape from elsewhere.")


async def metrics_page(request: Request) -> Response:
    """GET /metrics: Prometheus exposition of this process's counters and the ledger's totals."""
    i18n.set_language(i18n.best_language(request.headers.get("accept-language")))
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return PlainTextResponse(refusal, status_code=403, headers={"cache-control": "no-store"})
    body, content_type = await run_in_threadpool(metrics.exposition, request.headers.get("accept"))
    return Response(body, media_type=content_type, headers={"cache-control": "no-store"})


def _attachment(filename: str) -> dict[str, str]:
    return {"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"}


routes = [
    Route("/auth/session", session_cookie, methods=["POST"]),
    Route("/auth/refresh", refresh, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/export/transactions.{fmt:str}", export_transactions, methods=["GET"]),
    Route("/metrics", metrics_page, methods=["GET"]),
]
# Read at each scrape through serve's services(), the process's own.
metrics.read_ledger_with(lambda: transactions.ledger_figures(services()))


def _inline_script_hashes() -> str:
    """CSP sources for the inline scripts of Streamlit's index.html (one line in 1.67), read from
    the installed Streamlit so that an upgrade cannot leave a stale hash behind."""
    page = (Path(st.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    digests = (base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts)
    return " ".join(f"'sha256-{digest}'" for digest in digests)


# What Streamlit's page needs (each checked in Chromium: tests/browser/test_security_headers.py):
# its own scripts and its inline line; WebAssembly compilation (not JS eval) for its data
# decoders; blob: scripts, which is how v2 components such as the session bridge load their
# JS; inline styles (CSS-in-JS); data:/blob: images and fonts; a websocket to this origin.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' 'wasm-unsafe-eval' blob: {_inline_script_hashes()}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self' blob: data:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "SAMEORIGIN",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
# Browsers ignore HSTS received over plain HTTP (RFC 6797), so it is only sent over HTTPS.
HSTS = "max-age=31536000"


class SecurityHeaders:
    """Puts SECURITY_HEADERS on every HTTP response: Streamlit's page, assets and routes and ours."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = _over_https(scope["scheme"], Headers(scope=scope))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if https:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


LOG = logging.getLogger("textedit.stream")
STREAM_PATH = "/_stcore/stream"
# Close codes (RFC 6455): the page broke a rule, or sent a message too large.
POLICY_VIOLATION, MESSAGE_TOO_BIG = 1008, 1009


class StreamGuard:
    """Bounds what one page's websocket (Streamlit's /_stcore/stream) can make the server do:
    connections per client address, the size of each message, and how many messages a second
    (infra.connlimits). Checked here, before Streamlit parses a message or starts a run, so a
    flooding page costs the event loop a counter, not a script run."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._open: OpenConnections | None = None

    def _connections(self) -> OpenConnections:
        if self._open is None:
            self._open = OpenConnections(settings().sessions_per_address)
        return self._open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not scope["path"].endswith(STREAM_PATH):
            await self.app(scope, receive, send)
            return
        limits = settings()
        peer = scope["client"][0] if scope.get("client") else None
        forwarded = Headers(scope=scope).get(limits.client_ip_header) if limits.trusted_proxies else None
        address = client_address(peer, forwarded, limits.trusted_proxies) or "unknown"
        connections = self._connections()
        if not connections.take(address):
            LOG.warning("Refused a page from %s: %d already open", address, limits.sessions_per_address)
            await receive()  # the connect message; closing before accepting answers HTTP 403
            await send({"type": "websocket.close", "code": POLICY_VIOLATION})
            return
        budget = MessageBudget(
            limits.stream_burst, limits.stream_messages_per_second, limits.stream_held_back_limit
        )
        max_bytes = limits.stream_max_message_kib * 1024
        closed = False

        async def close(code: int, reason: str) -> Message:
            nonlocal closed
            closed = True
            LOG.warning("Closed a page's connection from %s: %s", address, reason)
            await send({"type": "websocket.close", "code": code, "reason": reason})
            # The app is told the page left, and cleans its session up as for any departure.
            return {"type": "websocket.disconnect", "code": code}

        async def guarded_receive() -> Message:
            message = await receive()
            if message["type"] != "websocket.receive" or closed:
                return message
            size = len(message.get("bytes") or b"") + len((message.get("text") or "").encode())
            if size > max_bytes:
                return await close(MESSAGE_TOO_BIG, f"Message of {size} bytes; at most {max_bytes}.")
            wait = budget.admit()
            if wait is None:
                return await close(POLICY_VIOLATION, "Too many messages; reload the page.")
            if wait:
                await asyncio.sleep(wait)
            return message

        async def guarded_send(message: Message) -> None:
            # After our close, the app's own close (or a late frame) has nowhere to go.
            if not closed:
                await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        finally:
            connections.give_back(address)


app = st.App("app.py", routes=routes, middleware=[Middleware(SecurityHeaders), Middleware(StreamGuard)])
# Start-up's objects live as long as the process: leave them out of every later collection.
gc.collect()
gc.freeze()
