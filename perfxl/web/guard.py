"""What keeps the web page safe: signed form tokens (CSRF), the office's session cookie,
and a limit on repeated failures (unknown links, wrong passwords, forged forms) per
client."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import defaultdict, deque

SESSION_SECONDS = 8 * 3600  # an office session lasts a working day
FAILURES, WINDOW = 10, 300.0  # ten failures in five minutes block a client for the rest


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def form_token(key: bytes, scope: str) -> str:
    """The token a form of `scope` (a department's link, the office's session) carries:
    a page of another origin cannot know it, so it cannot post in the user's name."""
    return _sign(key, f"form:{scope}")


def form_ok(key: bytes, scope: str, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(form_token(key, scope), token)


def session_cookie(key: bytes, now: float | None = None) -> str:
    """The office's session: when it ends, signed."""
    until = int((now or time.time()) + SESSION_SECONDS)
    return f"{until}.{_sign(key, f'admin:{until}')}"


def session_ok(key: bytes, cookie: str | None, now: float | None = None) -> bool:
    if not cookie or "." not in cookie:
        return False
    until, signature = cookie.split(".", 1)
    if not until.isdigit() or int(until) < (now or time.time()):
        return False
    return hmac.compare_digest(_sign(key, f"admin:{until}"), signature)


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
            return len(self._recent(client, time.monotonic())) >= self.limit

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(client, now).append(now)
