"""How the app is served: uvicorn, with the two connection limits it lacks, its options from the settings,
worker processes, and a log filter that keeps a flood out of the log.

uvicorn 0.54 times a connection out only once it is idle after an answer (its keep-alive timer starts with the
first response) and checks ``limit_concurrency`` only when a request arrives, so a client that connects and sends
nothing, or headers a byte at a time, holds a file descriptor for ever. ``GuardedH11Protocol`` is uvicorn's h11
protocol with a deadline for complete request headers (from connecting, and from each answer) and a cap on open
connections checked as each one is made: at the cap, the connection waiting longest for its headers is dropped
for the new one, and when none is waiting the new one is answered 503. The app hands it its limits through the
lifespan state (``STATE_KEY``), so every worker process gets them from its own settings.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from dataclasses import dataclass

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..config import Settings
from .security import HEADERS

log = logging.getLogger(__name__)
STATE_KEY = "skindoctor.connection_limits"
BACKLOG = 512  # connections the kernel queues (and asyncio accepts at once; uvicorn's default is 2048)
FD_RESERVE = 64  # descriptors kept for model files, logs and the event loop
MAX_HEADER_BYTES = 16 * 1024  # request line and headers; more is answered 400 by h11
FLOOD_LOGGERS = ("uvicorn.error", "asyncio", __name__, "skindoctor.web.security")


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    max_connections: int


UNSET = ConnectionLimits(10.0, 1000)  # for an app that does not hand its limits over


def _answer(status: str, error: str, detail: str, extra: str = "") -> bytes:
    """A complete HTTP/1.1 answer that closes the connection (written before h11 has seen a request)."""
    body = json.dumps({"error": error, "detail": detail})
    head = "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
    return (f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"connection: close\r\n{extra}{head}\r\n{body}").encode()


BUSY = _answer("503 Service Unavailable", "busy", "too many open connections; try again shortly",
               "retry-after: 5\r\n")
LATE = _answer("408 Request Timeout", "timeout", "the request's headers did not arrive in time")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for request headers and a cap on open connections."""

    deadline = None  # the header deadline's timer while waiting for a request's headers
    waiting_since: float | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self.limits = self.app_state.get(STATE_KEY, UNSET)
        if len(self.connections) > self.limits.max_connections and not self._drop_longest_waiting():
            log.warning("connections refused (503): %d open is the limit", self.limits.max_connections)
            transport.write(BUSY)
            transport.close()
            return
        self._await_headers()

    def handle_events(self) -> None:
        scope = self.scope
        super().handle_events()
        if self.scope is not scope:  # a request's headers are complete
            self._stop_waiting()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._await_headers()
        super().on_response_complete()

    def connection_lost(self, exc) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        self._stop_waiting()
        self.waiting_since = time.monotonic()
        self.deadline = self.loop.call_later(self.limits.header_timeout, self.headers_late)

    def _stop_waiting(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
        self.deadline = self.waiting_since = None

    def headers_late(self) -> None:
        """Close the connection: 408 if part of a request came, silently if it was idle."""
        self._stop_waiting()
        if not self.transport.is_closing():
            if self.conn.their_state is h11.IDLE and self.conn.trailing_data[0]:
                self.transport.write(LATE)
            self.transport.close()

    def _drop_longest_waiting(self) -> bool:
        waiting = [c for c in self.connections if c is not self and getattr(c, "waiting_since", None) is not None]
        if not waiting:
            return False
        log.warning("connections dropped while waiting for headers: %d open is the limit",
                    self.limits.max_connections)
        min(waiting, key=lambda c: c.waiting_since).headers_late()
        return True


def connection_limits(settings: Settings) -> ConnectionLimits:
    """The settings' limits, with the connection cap at most half of this process's open-file limit (raised to
    its hard limit first): the other half is for the model's files, the log, and a burst of accepted sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return ConnectionLimits(settings.header_timeout, max(1, min(settings.max_connections, (soft - FD_RESERVE) // 2)))


class FloodFilter(logging.Filter):
    """At most ``burst`` records from one logging call per ``period`` seconds; the next one let through says how
    many were left out."""

    def __init__(self, burst: int = 3, period: float = 10.0):
        super().__init__()
        self.burst, self.period = burst, period
        self.windows: dict[tuple, list] = {}  # (logger, file, line) → [window start, count, left out]

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        window = self.windows.setdefault((record.name, record.pathname, record.lineno), [now, 0, 0])
        if now - window[0] >= self.period:
            if window[2]:
                record.msg = f"{record.msg} ({window[2]} more like this in {now - window[0]:.0f} s not logged)"
            window[:] = [now, 0, 0]
        window[1] += 1
        if window[1] > self.burst:
            window[2] += 1
            return False
        return True


def limit_flood_logging() -> None:
    """Rate-limit the loggers a flood of bad connections writes to (idempotent)."""
    for name in FLOOD_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, FloodFilter) for f in logger.filters):
            logger.addFilter(FloodFilter())


def uvicorn_options(settings: Settings) -> dict:
    """uvicorn's options for serving these settings (besides the app, address and TLS)."""
    return {"http": GuardedH11Protocol, "timeout_keep_alive": settings.keep_alive_timeout,
            "h11_max_incomplete_event_size": MAX_HEADER_BYTES, "ws_max_size": settings.max_frame_bytes + 1024,
            "forwarded_allow_ips": settings.forwarded_allow_ips, "backlog": BACKLOG, "server_header": False}


def serve(settings: Settings, app=None, **tls) -> None:
    """Run uvicorn: ``app`` in this process, or ``settings.workers`` processes that each build the app from the
    environment (these settings are exported to it first)."""
    if settings.workers > 1:
        os.environ.update(settings_env(settings))
        app = "skindoctor.web.app:create_app"
    uvicorn.run(app, host=settings.host, port=settings.port, workers=settings.workers, factory=isinstance(app, str),
                log_level="warning", **uvicorn_options(settings), **tls)


def settings_env(settings: Settings) -> dict[str, str]:
    """``SKINDOCTOR_*`` environment variables that rebuild ``settings`` (those that differ from the defaults)."""
    values = settings.model_dump(mode="json", exclude_defaults=True)
    return {f"SKINDOCTOR_{k.upper()}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
