"""Sign-in sessions, CSRF tokens and login throttling, all held in memory only.

A session is a random 256-bit token in a cookie (HttpOnly, SameSite=Strict, Secure when the
app is served over TLS) that names an entry in this process's memory: nothing is written to
disk, nothing of the session travels in the cookie, and a restart signs everyone out. Each
session carries its own CSRF token, which every form sends back; a session ends after an idle
time, after an absolute lifetime, and as soon as its account is disabled or its password reset.

Login throttling counts failures per user name and per client address over a window: past a
few, each further attempt must wait, the wait doubling up to a ceiling. A throttled attempt is
refused before the password is even checked, so guessing is slow whichever name is tried.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginThrottle", "Session", "SessionStore"]


@dataclass
class Session:
    token: str
    csrf: str
    created: float
    last_seen: float
    username: str | None = None  # None: not signed in yet (the login form's own CSRF token)
    role: str = ""
    language: str = ""
    password_changed_at: str = ""
    flashes: list[tuple[str, str]] = field(default_factory=list)

    def check_csrf(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf.encode(), token.encode())


class SessionStore:
    """Sessions by token, with an idle timeout and an absolute lifetime (seconds)."""

    MAX_SESSIONS = 5000

    def __init__(self, *, idle_timeout: float = 15 * 60, lifetime: float = 12 * 3600,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_timeout = idle_timeout
        self.lifetime = lifetime
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def new(self) -> Session:
        now = self._clock()
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sessions[session.token] = session
            while len(self._sessions) > self.MAX_SESSIONS:  # never unbounded: the oldest
                # session not signed in goes first (a flood of login pages cannot push out
                # the people at work), then the least recently used one
                anonymous = next((t for t, s in self._sessions.items() if s.username is None),
                                 None)
                if anonymous is not None:
                    del self._sessions[anonymous]
                else:
                    self._sessions.popitem(last=False)
        return session

    def throwaway(self) -> Session:
        """A session for one page that is not kept (an error page for a stranger)."""
        now = self._clock()
        return Session("", secrets.token_urlsafe(32), now, now)

    def get(self, token: str | None) -> Session | None:
        """The live session for ``token`` (its idle clock restarted), or None."""
        if not token:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if (now - session.last_seen > self.idle_timeout
                    or now - session.created > self.lifetime):
                del self._sessions[token]
                return None
            session.last_seen = now
            self._sessions.move_to_end(token)
            return session

    def sign_in(self, old: Session | None, *, username: str, role: str, language: str,
                password_changed_at: str) -> Session:
        """A fresh session (new token and CSRF token: no fixation) for a signed-in account."""
        if old is not None:
            self.end(old.token)
        session = self.new()
        session.username, session.role, session.language = username, role, language
        session.password_changed_at = password_changed_at
        return session

    def end(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def end_user(self, username: str) -> None:
        with self._lock:
            for token in [t for t, s in self._sessions.items() if s.username == username]:
                del self._sessions[token]


class LoginThrottle:
    """Failures per key (user name, client address) within ``window`` seconds.

    The first ``free`` failures cost nothing; after that each attempt must wait ``base`` seconds
    doubled per further failure, at most ``ceiling``.
    """

    def __init__(self, *, free: int = 5, base: float = 2.0, ceiling: float = 15 * 60,
                 window: float = 30 * 60, clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base, self.ceiling, self.window = free, base, ceiling, window
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (count, last failure)
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds before another attempt for these keys is allowed (0: now)."""
        now = self._clock()
        longest = 0.0
        with self._lock:
            for key in keys:
                count, last = self._failures.get(key, (0, 0.0))
                if count and now - last > self.window:
                    del self._failures[key]
                    continue
                if count >= self.free:
                    delay = min(self.ceiling, self.base * 2 ** (count - self.free))
                    longest = max(longest, last + delay - now)
        return max(0.0, longest)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > 100_000:  # a flood of names: forget the oldest half
                for key in sorted(self._failures, key=lambda k: self._failures[k][1])[:50_000]:
                    del self._failures[key]
            for key in keys:
                count, _ = self._failures.get(key, (0, 0.0))
                self._failures[key] = (count + 1, now)

    def succeeded(self, username_key: str) -> None:
        with self._lock:
            self._failures.pop(username_key, None)
