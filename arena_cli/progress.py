"""What ``arena submit --wait`` shows while a run takes its time: elapsed time against the limit.

On a terminal one line on stderr is redrawn every second (``running 1:05 of the 5:00 limit
per run``); elsewhere (a log file, CI) a plain line is written every ``every`` seconds.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import TextIO

EVERY_SECONDS = 30.0  # plain lines, when stderr is not a terminal


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _parse(stamp: str | None) -> dt.datetime | None:
    if not stamp:
        return None
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


class RunClock:
    """Fed each status payload (``update``) and woken about once a second (``tick``)."""

    def __init__(self, *, limit_seconds: float | None, out: TextIO | None = None, every: float | None = None,
                 enabled: bool = True):
        self.limit_seconds = limit_seconds
        self.out = out or sys.stderr
        self.every = EVERY_SECONDS if every is None else every
        self.enabled = enabled
        self.live = enabled and getattr(self.out, "isatty", lambda: False)()
        self.status: str | None = None
        self.started: dt.datetime | None = None
        self.seen_running_at: float | None = None
        self.last_line = 0.0
        self.drawn = False

    def update(self, payload: dict) -> None:
        self.clear()
        self.status = payload.get("status")
        self.started = _parse(payload.get("started")) or self.started
        if self.status == "running" and self.seen_running_at is None:
            self.seen_running_at = time.monotonic()
            self.last_line = self.seen_running_at

    def elapsed(self) -> float | None:
        if self.started is not None:
            return max(0.0, (dt.datetime.now(dt.timezone.utc) - self.started).total_seconds())
        if self.seen_running_at is not None:
            return time.monotonic() - self.seen_running_at
        return None

    def text(self) -> str | None:
        elapsed = self.elapsed()
        if self.status != "running" or elapsed is None:
            return None
        if self.limit_seconds:
            return f"running {clock(elapsed)} of the {clock(self.limit_seconds)} limit per run"
        return f"running for {clock(elapsed)}"

    def tick(self) -> None:
        if not self.enabled:
            return
        text = self.text()
        if text is None:
            return
        if self.live:
            self.out.write("\r" + text + "\x1b[K")
            self.out.flush()
            self.drawn = True
        elif time.monotonic() - self.last_line >= self.every:
            self.last_line = time.monotonic()
            self.out.write(f"  {text}\n")
            self.out.flush()

    def clear(self) -> None:
        """Remove the redrawn line before anything else is printed."""
        if self.drawn:
            self.out.write("\r\x1b[K")
            self.out.flush()
            self.drawn = False
