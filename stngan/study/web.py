"""HTTP plumbing of the study server: bounded JSON bodies, JSON errors, security headers."""
from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 4096
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


class ApiError(HTTPException):
    """A 4xx answered as ``{"error": detail}``."""


def json_response(content: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status_code, headers={"cache-control": "no-store"})


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """Every HTTPException (ours, and Starlette's 404/405) becomes a JSON error."""
    assert isinstance(exc, HTTPException)
    response = json_response({"error": exc.detail}, exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    return json_response({"error": "internal server error"}, 500)


async def read_json(request: Request, limit: int = MAX_BODY, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object of at most ``limit`` bytes, else a 4xx :class:`ApiError`."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ApiError(413, f"request body larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, f"request body larger than {limit} bytes")
    if not body and allow_empty:
        return {}
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "send the body as Content-Type: application/json")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed JSON body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the JSON body must be an object")
    return data


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
