"""The shape of a setup step: report what was made, stamp only when nothing is pending."""

from __future__ import annotations

import httpx
import pytest

from dataplat.paths import paths_for
from dataplat.secrets import get_secret
from dataplat.settings import Settings
from dataplat.setup import oneshot


def step(result: oneshot.Result, seen: list[str]) -> oneshot.SetupStep:
    def configure(client: httpx.Client, password: str, s: Settings) -> oneshot.Result:
        seen.extend([str(client.base_url), password])
        return result

    return oneshot.SetupStep(
        tool="svc",
        password_secret="SVC_ADMIN_PASSWORD",
        base_url=lambda s: f"http://{s.bind_host}:1234",
        stamp=lambda paths: paths.data / "svc" / "setup.done",
        configure=configure,
    )


def test_complete_run_leaves_the_stamp(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[str] = []
    result = oneshot.Result(made={"conn": "c1", "query": "q1"}, done="all set")
    assert oneshot.run(step(result, seen), settings) == 0
    paths = paths_for(settings)
    assert seen == ["http://127.0.0.1:1234", get_secret(paths.secrets_file, "SVC_ADMIN_PASSWORD")]
    assert (paths.data / "svc" / "setup.done").read_text() == "conn\nquery\n"
    assert capsys.readouterr().out == "svc: conn -> c1\nsvc: query -> q1\nsvc: all set\n"


def test_pending_run_leaves_no_stamp(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    result = oneshot.Result(made={"db": 1}, pending="chart x waits for its table", done="unused")
    assert oneshot.run(step(result, []), settings) == 0
    assert not (paths_for(settings).data / "svc" / "setup.done").exists()
    out = capsys.readouterr().out
    assert out == "svc: db -> 1\nsvc: chart x waits for its table; the next `dataplat up` completes it\n"
