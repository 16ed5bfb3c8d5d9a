"""Render supervisord's config from the service specs (pure: specs in, text out)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping

from dataplat.paths import Paths, venv_bin
from dataplat.spec import Kind, ServiceSpec

SOCKET_NAME = "supervisor.sock"


def _escape(value: str) -> str:
    """supervisord expands ``%(name)s`` in its values; a literal ``%`` must be doubled."""
    return value.replace("%", "%%")


def _environment(env: Mapping[str, str]) -> str:
    """``KEY="v",...``: supervisord's non-POSIX lexer has no escapes, so pick a quote the value lacks."""
    items = []
    for key, value in sorted(env.items()):
        quote = '"' if '"' not in value else "'"
        if quote in value:
            raise ValueError(f"environment value of {key} holds both quote characters")
        items.append(f"{key}={quote}{_escape(value)}{quote}")
    return ",".join(items)


DAEMON_EXIT_CODES = (0, 143)  # a clean exit or SIGTERM's; any other exit is restarted by supervisord


def program_section(spec: ServiceSpec, paths: Paths) -> str:
    """One ``[program:x]`` section: logs to ``logs/<name>.log``, process group killed on stop."""
    oneshot = spec.kind is Kind.ONESHOT
    lines = [
        f"[program:{spec.name}]",
        f"command={_escape(shlex.join(spec.argv))}",
        f"directory={spec.cwd or paths.home}",
        "autostart=false",
        f"autorestart={'false' if oneshot else 'unexpected'}",
        f"startsecs={0 if oneshot else 3}",
        "startretries=3",
        f"exitcodes={'0' if oneshot else ','.join(map(str, DAEMON_EXIT_CODES))}",
        "stopsignal=TERM",
        f"stopwaitsecs={spec.stop_timeout_s}",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        f"stdout_logfile={paths.logs / (spec.name + '.log')}",
        "stdout_logfile_maxbytes=50MB",
        "stdout_logfile_backups=3",
    ]
    if spec.env:
        lines.append(f"environment={_environment(spec.env)}")
    return "\n".join(lines) + "\n"


REAPER = "reaper"


def reaper_section(paths: Paths) -> str:
    """The event listener that kills what a dead process left in its group (``dataplat.reaper``)."""
    return f"""[eventlistener:{REAPER}]
command={venv_bin() / "python"} -m dataplat.reaper
events=PROCESS_STATE_EXITED
autostart=true
autorestart=true
stderr_logfile={paths.logs / (REAPER + ".log")}
stderr_logfile_maxbytes=5MB
stderr_logfile_backups=1
"""


def supervisord_conf(specs: Iterable[ServiceSpec], paths: Paths) -> str:
    """The whole supervisord.conf: a unix socket (0700) for control, no TCP listener."""
    socket = paths.run / SOCKET_NAME
    header = f"""[unix_http_server]
file={socket}
chmod=0700

[supervisord]
logfile={paths.logs / "supervisord.log"}
logfile_maxbytes=20MB
pidfile={paths.run / "supervisord.pid"}
childlogdir={paths.logs}
directory={paths.home}
nodaemon=false
minfds=16384
identifier=dataplat

[rpcinterface:supervisor]
supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{socket}
"""
    programs = "\n".join(program_section(spec, paths) for spec in specs)
    return header + "\n" + reaper_section(paths) + "\n" + programs
