"""Fuzz harness: hypothesis profiles, a per-case time bound, and outcome counts per target.

Profiles (env ``LOOPZOO_FUZZ_PROFILE``): ``ci`` (default, a few dozen cases per target, fixed
seed) and ``long`` (``LOOPZOO_FUZZ_EXAMPLES`` cases, default 10,000, random seeds), run by
``scripts/fuzz_long.py``. Every case must end in a result or a :class:`LoopzooError` with a
message; anything else, or a case running past ``LOOPZOO_FUZZ_TIMEOUT`` seconds, fails.
With ``LOOPZOO_FUZZ_REPORT=path`` the counts are written there as JSON at the end.
"""
from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

from loopzoo.errors import LoopzooError

torch.set_num_threads(1)

settings.register_profile("ci", max_examples=int(os.environ.get("LOOPZOO_FUZZ_EXAMPLES", 30)), deadline=None,
                          derandomize=True, database=None, suppress_health_check=list(HealthCheck))
settings.register_profile("long", max_examples=int(os.environ.get("LOOPZOO_FUZZ_EXAMPLES", 10_000)), deadline=None,
                          database=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("LOOPZOO_FUZZ_PROFILE", "ci"))

TIMEOUT = float(os.environ.get("LOOPZOO_FUZZ_TIMEOUT", 20))


class Hang(BaseException):
    """A fuzz case ran past the time bound (BaseException, so no ``except Exception`` eats it)."""


class Checker:
    """Run one fuzz case under a time bound and count its outcome under its target's name."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.seconds: dict[str, float] = defaultdict(float)

    def __call__(self, target: str, fn, *args, **kwargs):
        counts = self.counts[target]
        counts["cases"] += 1

        def alarm(signum, frame):
            raise Hang()

        previous = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        started = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except LoopzooError as exc:
            counts["loopzoo_errors"] += 1
            assert str(exc).strip(), f"{target}: {type(exc).__name__} without a message"
            return exc
        except Hang:
            counts["hangs"] += 1
            raise AssertionError(f"{target}: a case ran longer than {self.timeout} s (args {str(args)[:300]})") from None
        except BaseException as exc:
            if not isinstance(exc, KeyboardInterrupt):
                counts["unexpected"] += 1
            raise
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            self.seconds[target] += time.perf_counter() - started
        counts["results"] += 1
        return result


CHECKER = Checker(TIMEOUT)


@pytest.fixture(scope="session")
def fuzz() -> Checker:
    return CHECKER


def pytest_sessionfinish(session, exitstatus):
    report = os.environ.get("LOOPZOO_FUZZ_REPORT")
    if report and CHECKER.counts:
        data = {t: {**{k: 0 for k in ("cases", "results", "loopzoo_errors", "unexpected", "hangs")}, **c,
                    "seconds": round(CHECKER.seconds[t], 1)} for t, c in sorted(CHECKER.counts.items())}
        Path(report).write_text(json.dumps(data, indent=1) + "\n")
