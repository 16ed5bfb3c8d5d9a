"""Fuzz the ingest API from its own OpenAPI document (schemathesis), against the real Kafka and registry.

Every operation of the live ``/openapi.json`` gets schemathesis' positive and negative cases, the
document's examples, and cases steered at the Avro validation: the topic is often a fresh test
topic whose subject holds the real clickstream schema, with events that are valid, nearly valid or
anything. Two targets: the stack's API (on loopback no key is required) and a private one that
requires a key, sent the right key, a generated one or arbitrary Latin-1 text. No answer may be a
5xx, every answer must conform to the document, and each accepted event must be in Kafka.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, assume, given
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckFunction, GenerationMode, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dataplat.paths import paths_for
from dataplat.secrets import get_secret
from dataplat.settings import Settings
from ingest_api.config import is_loopback
from tests.integration.test_ingest_api import _end_offsets, ingest_process

API_KEY = "X-API-Key"
Statuses = Counter[tuple[str, int]]  # (operation, HTTP status) -> answers
OPERATIONS = {
    "POST /topics/{topic}",
    "POST /topics/{topic}/batch",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
}
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# a batch answers per record: one that breaks the document (a non-object item) may still be 207
PER_RECORD = {"POST /topics/{topic}/batch": [negative_data_rejection]}
MAX_EXAMPLES = 300  # per operation and target: about 20 s per target on the 2-core machine
PRIVATE_KEY = "fuzz-private-key"

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
ANYTHING = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
)
EVENT_TIMES = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(),  # beyond Avro's long too
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.datetimes().map(lambda moment: moment.isoformat(timespec="milliseconds") + "Z"),
    st.from_regex(r"\A[0-9T:+\-. Z]{1,32}\Z"),  # almost ISO-8601
    st.text(max_size=32),
)
FIELDS = {
    "username": st.text(max_size=30),
    "page": st.text(max_size=30),
    "event_name": st.text(max_size=20),
    "event_time": EVENT_TIMES,
}
EVENTS = st.one_of(
    st.fixed_dictionaries(FIELDS),  # valid but for odd times
    st.fixed_dictionaries(
        {}, optional={**{name: values | ANYTHING for name, values in FIELDS.items()}, "extra": ANYTHING}
    ),
    ANYTHING,
)
# header values as they arrive: Latin-1 text without control characters or spaces
LATIN1_TEXT = st.text(
    st.characters(codec="latin-1", exclude_categories=("Cc", "Zs")), min_size=1, max_size=40
)


@dataclass(frozen=True)
class Target:
    """An ingest API to fuzz: its URL, its key, and the X-API-Key values to send (None: generated)."""

    url: str
    key: str
    keys: st.SearchStrategy[str | None]
    enforces_key: bool


def _on_topic(case: Case, topic: str) -> Case:
    case.path_parameters = {**(case.path_parameters or {}), "topic": topic}
    return case


def _with_body(pair: tuple[Case, Any]) -> Case:
    case, body = pair
    case.body = body
    return case


def _cases(operation: APIOperation, topic: str) -> st.SearchStrategy[Case]:
    """Schemathesis' own cases (any topic, or the test topic), the document's examples, and events."""
    if "topic" not in operation.path:
        return st.one_of([operation.as_strategy(mode) for mode in GenerationMode])
    fixed = {"topic": topic}
    bodies = (
        st.lists(EVENTS, min_size=1, max_size=5) | ANYTHING if operation.path.endswith("/batch") else EVENTS
    )
    examples = [
        example.map(lambda case: _on_topic(case, topic))
        for example in operation.get_strategies_from_examples()
    ]
    return st.one_of(
        *(operation.as_strategy(mode) for mode in GenerationMode),
        *(operation.as_strategy(mode, path_parameters=fixed) for mode in GenerationMode),
        *examples,
        st.tuples(operation.as_strategy(path_parameters=fixed), bodies).map(_with_body),
        st.tuples(operation.as_strategy(path_parameters=fixed), bodies).map(_with_body),
    )


def _accepted(case: Case, response: Response, topic: str) -> int:
    """Records the answer says were written to ``topic``."""
    if (case.path_parameters or {}).get("topic") != topic or response.status_code not in (200, 207):
        return 0
    body = response.json()
    return int(body["accepted"]) if "accepted" in body else 1


def _fuzz(
    operation: APIOperation,
    target: Target,
    topic: str,
    checks: list[CheckFunction],
    seen: Statuses,
) -> int:
    """Run the operation's cases through ``checks``; counts statuses in ``seen``, returns accepted records."""
    written = [0]
    session = requests.Session()
    checks = [check for check in checks if check not in PER_RECORD.get(operation.label, [])]

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(operation, topic), key=target.keys)
    def run(case: Case, key: str | None) -> None:
        if operation.schema.is_security_param_negated(case):  # a case about the key: send it as made
            assume(target.enforces_key)  # else nothing to learn: the key is not required on loopback
            key = None
        explicit = {API_KEY: target.key} if key == target.key else {}  # told apart by ignored_auth
        if key is not None and not explicit:
            case.headers[API_KEY] = key
        response = case.call(base_url=target.url, session=session, headers=explicit, timeout=30)
        seen[(operation.label, response.status_code)] += 1
        case.validate_response(response, checks=checks, headers=explicit)
        written[0] += _accepted(case, response, topic)

    try:
        run()
    finally:
        session.close()
    return written[0]


def _fuzz_all(target: Target, topic: str, checks: list[CheckFunction]) -> tuple[Statuses, int]:
    """Every operation of the target's live document; the statuses seen and the records accepted."""
    schema = schemathesis.openapi.from_url(f"{target.url}/openapi.json", timeout=10)
    seen: Statuses = Counter()
    written, labels = 0, set()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        labels.add(operation.label)
        written += _fuzz(operation, target, topic, checks, seen)
    assert labels >= OPERATIONS, f"the document lacks {OPERATIONS - labels}"
    print(f"statuses: {dict(sorted(seen.items()))}; {written} records accepted")
    return seen, written


def _reached_validation(seen: Statuses) -> None:
    """The fuzzer got past routing and auth into the Avro validation: writes and rejections both."""
    for label in ("POST /topics/{topic}", "POST /topics/{topic}/batch"):
        assert seen[(label, 200)] > 0, f"{label}: no event was accepted"
        assert seen[(label, 422)] > 0, f"{label}: no event was rejected by the schema"


def test_fuzz_the_stacks_ingest_api(settings: Settings, ingest_url: str, topic: str) -> None:
    key = get_secret(paths_for(settings).secrets_file, "INGEST_API_KEY")  # needed beyond loopback only
    target = Target(ingest_url, key, st.just(key), enforces_key=not is_loopback(settings.bind_host))
    seen, written = _fuzz_all(target, topic, CHECKS)
    _reached_validation(seen)
    assert _end_offsets(settings, topic) == written


@pytest.mark.usefixtures("stack")
def test_fuzz_an_api_that_requires_a_key(settings: Settings, topic: str, tmp_path: Path) -> None:
    # the right key half of the time, else what schemathesis generated (None) or any Latin-1 text
    keys = st.one_of(st.just(PRIVATE_KEY), st.just(PRIVATE_KEY), st.none(), LATIN1_TEXT)
    environment = {"INGEST_REQUIRE_API_KEY": "true", "INGEST_API_KEY": PRIVATE_KEY}
    with ingest_process(tmp_path / "ingest-api.log", **environment) as api:
        target = Target(str(api.base_url).rstrip("/"), PRIVATE_KEY, keys, enforces_key=True)
        seen, written = _fuzz_all(target, topic, [*CHECKS, ignored_auth])
    _reached_validation(seen)
    assert seen[("POST /topics/{topic}", 401)] > 0 and seen[("POST /topics/{topic}/batch", 401)] > 0
    assert _end_offsets(settings, topic) == written
