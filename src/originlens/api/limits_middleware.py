"""Refuse oversized request bodies without reading them into memory.

A declared Content-Length over the limit is answered 413 before any body is read; a
body without one (chunked) is counted as it streams and cut off past the limit.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        message: str,
        path_limits: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        """``path_limits``: other limits (and messages) for exact paths, e.g. video uploads."""
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.message = message
        self.path_limits = path_limits or {}

    async def _reject(self, send: Send, message: str) -> None:
        body = json.dumps({"message": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        limit, text = self.path_limits.get(scope.get("path", ""), (self.max_body_bytes, self.message))
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, text)
            return

        state: dict[str, Any] = {"received": 0, "exceeded": False, "started": False}

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            if state["exceeded"]:
                return  # whatever the app says about the aborted body, the client gets 413
            await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if state["exceeded"]:
            await self._reject(send, text)


class _BodyTooLarge(Exception):
    pass
