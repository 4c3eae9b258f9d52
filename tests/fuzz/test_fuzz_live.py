"""Hostile input, fuzzed (issue 12, item 6): a few thousand inputs against a real server.

The properties are in `live_fuzz.py`; bench/fuzz_live.py runs the same with 100,000 inputs.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz.live_fuzz import (
    Case,
    FuzzTarget,
    HttpCase,
    cases,
    fuzz_config,
    http_case,
    http_cases,
)

# The server's thread uses the random module while hypothesis draws in this one, and the
# huge inputs have huge reprs: both notes are about the fuzzer, not about the server.
pytestmark = pytest.mark.filterwarnings(
    "ignore::hypothesis.errors.HypothesisDeprecationWarning",
    "ignore::hypothesis.errors.HypothesisWarning",
)
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=False,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@pytest.fixture(scope="module")
def target():
    """One server for the module, limits raised, with a bystander call streaming speech."""
    with FuzzTarget(fuzz_config()) as fuzzed:
        yield fuzzed
        fuzzed.check_healthy()


@pytest.fixture(scope="module")
def default_target():
    """A server with the default limits (creation rate, connections, hello deadline)."""
    from server.config import Config
    from tests.fuzz.live_fuzz import TRAINER_KEY

    with FuzzTarget(Config(port=0, model="none", trainer_key=TRAINER_KEY)) as fuzzed:
        yield fuzzed
        fuzzed.check_healthy()


@settings(FUZZ, max_examples=400)
@given(case=cases)
def test_fuzz_ws_random_frames_at_random_moments(target: FuzzTarget, case: Case):
    target.ws_case(case)


@settings(FUZZ, max_examples=600)
@given(case=http_cases)
def test_fuzz_http_random_requests(target: FuzzTarget, case: HttpCase):
    http_case(target, case)


def test_fuzz_bystander_untouched(target: FuzzTarget):
    target.check_healthy()


@settings(FUZZ, max_examples=150)
@given(case=cases)
def test_fuzz_ws_with_default_limits(default_target: FuzzTarget, case: Case):
    default_target.ws_case(case)
