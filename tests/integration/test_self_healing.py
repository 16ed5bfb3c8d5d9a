"""Self-healing, proven: SIGKILL each long-running service in turn; the platform brings it back by
itself and the end-to-end slice (``dataplat demo``) passes with no manual step.

Per service, on a healthy stack: SIGKILL the process supervisord started (as a crash would: that
process only, not its group), wait, without starting anything, until supervisord has restarted it
and the spec's own readiness probe says ready (``self_healing.wait_recovered``), run the demo,
check that no child of the killed process lingers, and that every service, dependents included,
is healthy again by itself. Dependents are never restarted here: one that needs a restart to
recover is a platform defect this test exists to show. Only after a case has failed does its
clean-up end the killed process's orphans and ``stack.up()`` what is stopped, so the next case
starts from a healthy stack.

The change-data-capture services (``cdc``, ``connect``) are killed in ``test_cdc.py`` instead, during a
load run, where healing must also land every change exactly once.

Order: leaves first, the services everything else leans on last, so that a case that breaks its
dependents spoils as few later cases as possible. Times to healthy are printed as a table at the
end and written to ``test-artifacts/self_healing.json``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dataplat.runtime import Stack
from dataplat.settings import REPO_ROOT
from tests.integration import self_healing as heal

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# service -> seconds it may take from the SIGKILL to healthy (2 cores; Trino and Spark are slow)
BUDGET_S: dict[str, float] = {
    "sqlpad": 60,
    "superset": 180,
    "ingest-api": 60,
    "airflow-triggerer": 120,
    "airflow-dag-processor": 120,
    "airflow-scheduler": 120,
    "airflow-api": 120,
    "streaming": 300,
    "trino": 240,
    "metastore": 180,
    "registry": 60,
    "kafka": 120,
    "datanode": 120,
    "namenode": 180,
    "postgres": 60,  # Airflow's, the metastore's and Superset's metadata: leaned on by all of them
}
BEFORE_S = 180.0  # the stack healthy before a kill (a previous case's dependents may still settle)
AFTER_S = 240.0  # after the demo, every service healthy again (streaming may have restarted)
ORPHAN_GRACE_S = 15.0  # children of the killed process get this long (after the demo) to exit
REPORT = REPO_ROOT / "test-artifacts" / "self_healing.json"


@pytest.fixture(scope="module")
def recoveries(request: pytest.FixtureRequest) -> Iterator[list[heal.Recovery]]:
    """Every case's record; the table is printed and the JSON written once the module is done."""
    records: list[heal.Recovery] = []
    yield records
    if not records:
        return
    heal.write_report(records, BUDGET_S, REPORT)
    lines = ["", *heal.table(records), f"(written to {REPORT})"]
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        print("\n".join(lines))
        return
    reporter.write_sep("=", "self-healing: seconds from SIGKILL to healthy")
    for line in lines:
        reporter.write_line(line)


@pytest.mark.parametrize("service", list(BUDGET_S))
def test_sigkilled_service_heals_and_the_demo_passes(
    service: str, stack: Stack, recoveries: list[heal.Recovery]
) -> None:
    if service not in stack.specs:
        pytest.skip(f"{service} is not run by this stack (external, or not among the selected services)")
    bad, _ = heal.wait_healthy(stack, BEFORE_S)
    assert not bad, f"the stack is not healthy before {service} is killed: {bad}"
    record = heal.Recovery(service)
    recoveries.append(record)
    killed: heal.Killed | None = None
    try:
        killed = heal.kill(stack, service)
        record.killed_pid = killed.pid
        record.running_s, record.ready_s, record.new_pid = heal.wait_recovered(
            stack, service, killed, BUDGET_S[service]
        )
        record.demo_ok, record.demo_s, record.demo_steps, demo_report = heal.run_demo(stack)
        record.orphans = heal.describe(heal.survivors(killed.children, ORPHAN_GRACE_S))
        record.unhealthy_after, record.stack_healthy_s = heal.wait_healthy(stack, AFTER_S)
        problems = []
        if not record.demo_ok:
            problems.append(f"the demo failed after {service} was back:\n{demo_report}")
        if record.orphans:
            problems.append(f"children of the killed {service} outlived it: {record.orphans}")
        if record.unhealthy_after:
            problems.append(f"not healthy again by themselves: {record.unhealthy_after}")
        assert not problems, "\n".join(problems)
    except BaseException as error:
        record.error = f"{type(error).__name__}: {error}"[:4000]
        raise
    finally:
        heal.write_report(recoveries, BUDGET_S, REPORT)  # a partial run leaves its numbers too
        if record.error:
            _restore(stack, killed)


def _restore(stack: Stack, killed: heal.Killed | None) -> None:
    """After a failed case only (its verdict is already recorded): leave a healthy stack behind."""
    if killed is not None:
        heal.kill_orphans(killed.children)
    try:
        stack.up()
    except Exception as error:  # noqa: BLE001 - the case's own failure is the one to report
        print(f"could not bring the stack back after the failed case: {type(error).__name__}: {error}")
