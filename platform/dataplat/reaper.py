"""supervisord event listener: when a supervised process exits, kill what it left in its group.

supervisord starts every program as a process-group leader and kills the whole group on stop
(``killasgroup``), but a process that *dies* (SIGKILL, OOM, a crash) leaves its children running:
uvicorn's workers keep the ingest port bound, so the restarted server cannot listen, and
Airflow's LocalExecutor workers wait forever for a scheduler that is gone. On every
``PROCESS_STATE_EXITED`` this listener sends SIGKILL to the dead process's group, so the restart
supervisord makes next starts from a clean slate. Run as ``python -m dataplat.reaper``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TextIO

from supervisor import childutils

EVENTS = "PROCESS_STATE_EXITED"


def exited_pid(payload: str) -> int | None:
    """The pid of the process a ``PROCESS_STATE_EXITED`` payload reports (``None`` if absent)."""
    fields = dict(token.split(":", 1) for token in payload.split() if ":" in token)
    pid = fields.get("pid", "")
    return int(pid) if pid.isdigit() and int(pid) > 1 else None


def reap_group(pgid: int) -> bool:
    """SIGKILL every process still in group ``pgid``; True when there was one to kill."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:  # the group died with its leader: nothing left behind
        return False
    except PermissionError:  # never ours (a reused id): leave it alone
        return False
    return True


def serve(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> None:
    """The listener loop: READY, read one event, reap, OK (forever; supervisord restarts us)."""
    while True:
        headers, payload = childutils.listener.wait(stdin, stdout)
        if headers.get("eventname") == EVENTS:
            first_line = payload.split("\n", 1)[0]
            pid = exited_pid(first_line)
            if pid is not None and reap_group(pid):
                print(f"reaped the processes left by {first_line}", file=stderr, flush=True)
        childutils.listener.ok(stdout)


if __name__ == "__main__":
    serve()
