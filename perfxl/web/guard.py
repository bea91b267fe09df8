"""What keeps the web page safe: signed form tokens (CSRF), the office's session cookie,
and a limit on repeated failures (unknown links, wrong passwords, forged forms) per
client."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import defaultdict, deque
from typing import Any

SESSION_SECONDS = 8 * 3600  # an office session lasts a working day
FAILURES, WINDOW = 10, 300.0  # ten failures in five minutes block a client for the rest


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def form_token(key: bytes, scope: str) -> str:
    """The token a form of `scope` (a department's link, the office's session) carries:
    a page of another origin cannot know it, so it cannot post in the user's name."""
    return _sign(key, f"form:{scope}")


def form_ok(key: bytes, scope: str, token: str | None) -> bool:
    if not well_formed_token(token):
        return False
    assert token is not None
    return hmac.compare_digest(form_token(key, scope).encode(), token.encode())


def session_cookie(key: bytes, credentials: str, now: float | None = None) -> str:
    """The office's session: when it ends, signed together with the office's credentials
    as they are (`credentials`, a fingerprint of them): a new password or token ends every
    session signed before it."""
    until = int((now or time.time()) + SESSION_SECONDS)
    return f"{until}.{_sign(key, f'admin:{until}:{credentials}')}"


def session_ok(key: bytes, credentials: str, cookie: str | None, now: float | None = None) -> bool:
    if not cookie or "." not in cookie:
        return False
    until, signature = cookie.split(".", 1)
    if not (until.isascii() and until.isdigit()) or int(until) < (now or time.time()):
        return False
    if not well_formed_token(signature):
        return False
    expected = _sign(key, f"admin:{until}:{credentials}")
    return hmac.compare_digest(expected.encode(), signature.encode())


class Throttle:
    """Failures per client; a client with too many in the window is refused until they
    age out."""

    def __init__(self, limit: int = FAILURES, window: float = WINDOW) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures[client]
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        with self._lock:
            if client not in self._failures:
                return False
            recent = self._recent(client, time.monotonic())
            if not recent:  # aged out: forgotten, so that the table does not grow
                del self._failures[client]
                return False
            return len(recent) >= self.limit

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)


class BodyTooLarge(Exception):
    """A request's body went past the limit while it was being read."""


class BodyLimit:
    """ASGI middleware: a request whose body passes `limit` bytes is stopped as it arrives
    (BodyTooLarge, for the application to answer), whether or not it said its length."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(seen)
            return message

        await self.app(scope, counted, send)


def well_formed_token(value: str | None) -> bool:
    """A form token or signature as perfxl makes them (64 hex digits)."""
    return value is not None and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
