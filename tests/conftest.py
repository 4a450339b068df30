"""Shared test configuration: Hypothesis profiles and the `rss` marker.

Hypothesis profiles (pick one with the HYPOTHESIS_PROFILE environment variable):

* ``ci`` (the default): 50 examples per property, derandomized (the same
  examples on every run, so a CI failure reproduces), no deadline (the
  sanitizer build is several times slower).
* ``long``: 2,000 random examples per property, for a hunting session:
  ``HYPOTHESIS_PROFILE=long pytest tests/test_fuzz.py``.
* ``dev``: 200 random examples.

``HYPOTHESIS_MAX_EXAMPLES=N`` overrides the chosen profile's number of examples
(tools/fuzz_budget.sh: CI's fixed time budget on the long profile).

Tests marked ``rss`` measure the process's resident set size; they are skipped
when the C extension is an AddressSanitizer build (tools/sanitize.sh), whose
quarantine keeps freed memory resident on purpose.  LeakSanitizer checks leaks
in that run instead.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

from minisinga import autograd
from minisinga._lib import lib

settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True,
                          print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
if os.environ.get("HYPOTHESIS_MAX_EXAMPLES"):
    # A profile cut to size: tools/fuzz_budget.sh runs the long profile in rounds of
    # this many examples, each with a fresh seed, until its time budget is spent.
    settings.register_profile("sized", settings.default,
                              max_examples=int(os.environ["HYPOTHESIS_MAX_EXAMPLES"]))
    settings.load_profile("sized")

SANITIZED = bool(lib.ms_sanitized())


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "rss: measures resident memory; skipped under the ASan build "
                   "(its quarantine keeps freed memory resident)")


def pytest_collection_modifyitems(config, items):
    if not SANITIZED:
        return
    skip = pytest.mark.skip(reason="RSS is meaningless under AddressSanitizer (freed memory "
                                   "sits in its quarantine); LeakSanitizer checks leaks here")
    for item in items:
        if "rss" in item.keywords:
            item.add_marker(skip)


# Under tools/sanitize.sh the leak check runs in this process at the end of the
# session (below).  Python processes that the tests start (examples run as
# commands, benchmark children) still get ASan and UBSan, but no leak check of
# their own: theirs would run at interpreter exit, where still-held objects look
# leaked.  The parent's environment was read at its start, so changing it here
# only affects the children.
_LSAN_AT_END = bool(os.environ.get("MINISINGA_LSAN_AT_END"))
if _LSAN_AT_END:
    os.environ.pop("MINISINGA_LSAN_AT_END")
    os.environ.pop("PYTHONMALLOC", None)
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "").replace(
        "detect_leaks=1", "detect_leaks=0")


def pytest_unconfigure(config):
    """Under tools/sanitize.sh: run LeakSanitizer's check now, at the end of the
    session, rather than at interpreter exit.

    Objects that modules still hold are reachable here, so only memory that
    nothing can reach any more is reported.  At exit, Python drops objects
    without running every finaliser, and blocks that are merely still held
    would be reported as leaks.  After this call LSan does not check again.
    """
    if not _LSAN_AT_END:
        return
    import ctypes
    import gc

    gc.collect()
    check = getattr(ctypes.CDLL(None), "__lsan_do_leak_check", None)
    if check is not None:
        check()


@pytest.fixture(autouse=True)
def _restore_training_flag():
    """Every test leaves ``autograd.training`` as it found it."""
    was = autograd.training
    yield
    autograd.training = was


@pytest.fixture
def training_mode():
    """``autograd.training = True`` for one test (put back after it by the fixture
    above); a module asks for it with ``pytestmark = pytest.mark.usefixtures(...)``."""
    autograd.training = True


def pytest_terminal_summary(terminalreporter):
    """One line per distinct skip reason, with its count, instead of one line per
    test location (pyproject's addopts leave skips out of ``-r``).  A machine with
    no GPU skips the same way in dozens of places; that is one fact, one line."""
    from collections import Counter

    reasons = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    if not reasons:
        return
    terminalreporter.section("skipped, by reason", sep="-")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:5d} skipped: {reason}")
