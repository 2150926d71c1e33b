"""ASGI entry (`streamlit run serve.py`): the Streamlit app plus the session-cookie routes.

The routes are the only place that sets or clears the HttpOnly refresh-token cookie; a running
Streamlit script cannot set cookies. The page's session bridge (app_pages/bridge.py) calls them.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from textedit_core import signin
from textedit_core.coltypes import utcnow
from textedit_core.config import load_settings
from textedit_core.services import Services, start

COOKIE = signin.REFRESH_COOKIE
BRIDGE_HEADER = "x-textedit-bridge"
_services: Services | None = None


def services() -> Services:
    global _services
    if _services is None:
        _services = start(load_settings())
    return _services


def _same_origin(request: Request) -> bool:
    """CSRF: require the bridge's custom header (forces a CORS preflight cross-site) and,
    when the browser sends one, an Origin equal to this host."""
    if request.headers.get(BRIDGE_HEADER) != "1":
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return services().settings.cookie_secure or request.url.scheme == "https" or forwarded == "https"


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
        return _cleared(401, request)
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
    await run_in_threadpool(
        signin.logout_by_refresh_token, services(), request.cookies.get(COOKIE, "")
    )
    return _cleared(204, request)


routes = [
    Route("/auth/session", session_cookie, methods=["POST"]),
    Route("/auth/refresh", refresh, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
]

app = st.App("app.py", routes=routes)
