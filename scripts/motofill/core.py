"""Shared machinery: the global model lock, the time scale, a timer thread, action registration."""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from typing import Any, Callable

from moto.core.exceptions import ServiceException

# Every request and every background step runs under this lock: moto's models are not thread-safe
# and the refresh emulation mutates them from its own thread.
MODEL_LOCK = threading.RLock()


def time_scale() -> float:
    """Multiplier for durations that AWS counts in minutes (warmups, checkpoints, bake time)."""
    return float(os.environ.get("FK_MOTO_TIME_SCALE", "1"))


def state_delay() -> float:
    """Seconds an instance, image, volume attachment, target or task spends in a transitional state."""
    return float(os.environ.get("FK_MOTO_STATE_DELAY", "0"))


class ClientError(ServiceException):
    """An error with an explicit AWS error code; the HTTP status comes from the service model."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


class Timers:
    """One thread that runs callbacks at their due time, under MODEL_LOCK."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], Any]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="motofill-timers", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, fn: Callable[[], Any]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), fn))
            self._cv.notify()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cv.wait(timeout)
                _, _, fn = heapq.heappop(self._heap)
            try:
                with MODEL_LOCK:
                    fn()
            except Exception as exc:  # a failing callback must not stop the other timers
                print(f"motofill: timer callback failed: {exc!r}", flush=True)


TIMERS = Timers()


def after_state_delay(fn: Callable[[], Any]) -> bool:
    """Runs fn after the state delay; returns False (and does not run it) when there is none."""
    delay = state_delay()
    if delay <= 0:
        return False
    TIMERS.call_later(delay, fn)
    return True


def add_action(response_cls: type, name: str, fn: Callable[..., Any]) -> None:
    """Registers fn as the handler of the snake_case action `name` on a moto response class."""
    fn.__name__ = name
    setattr(response_cls, name, fn)


def wrap_method(cls: type, name: str, wrapper: Callable[..., Any]) -> None:
    """Replaces cls.name with wrapper(original, self, *args, **kwargs)."""
    original = getattr(cls, name)

    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        return wrapper(original, self, *args, **kwargs)

    patched.__name__ = name
    patched.__doc__ = original.__doc__
    setattr(cls, name, patched)


# moto's error serialiser looks a ServiceException's service up from its module name when that
# name starts with "moto"; this package's name does, so point it at no service.
ClientError.__module__ = "fleetkeeper_test_fill"


def ec2_tags(resource: Any) -> dict[str, str]:
    """The tags of an EC2 resource as a dict, read from the backend's tag store directly
    (get_tags() scans every tag of the region, too slow for per-instance use)."""
    return dict(resource.ec2_backend.tags.get(resource.id, {}))
