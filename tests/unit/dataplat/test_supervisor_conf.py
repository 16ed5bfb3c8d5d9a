from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from supervisor.datatypes import dict_of_key_value_pairs

from dataplat.paths import Paths
from dataplat.spec import Kind, ServiceSpec
from dataplat.supervisor_conf import program_section, supervisord_conf


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return Paths(home=tmp_path / "home", cache=tmp_path / "cache")


def parse(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return parser


def test_daemon_section_restarts_on_crash_and_kills_the_group(paths: Paths) -> None:
    section = parse(program_section(ServiceSpec("kafka", ("java", "-Xmx1m", "kafka.Kafka")), paths))
    program = section["program:kafka"]
    assert program["command"] == "java -Xmx1m kafka.Kafka"
    assert program["autorestart"] == "unexpected"
    assert program["killasgroup"] == "true"
    assert program["stdout_logfile"] == str(paths.logs / "kafka.log")


def test_oneshot_is_never_restarted(paths: Paths) -> None:
    section = parse(program_section(ServiceSpec("fmt", ("true",), kind=Kind.ONESHOT), paths))
    assert section["program:fmt"]["autorestart"] == "false"
    assert section["program:fmt"]["startsecs"] == "0"


def test_environment_survives_supervisors_parser(paths: Paths) -> None:
    env = {"JSON": '{"a": "b, c"}', "PCT": "100%", "QUOTE": "it's"}
    raw = parse(program_section(ServiceSpec("x", ("true",), env=env), paths))["program:x"]["environment"]
    expanded = raw.replace("%%", "%")  # supervisord's own %-expansion step
    assert dict_of_key_value_pairs(expanded) == env


def test_percent_in_argv_is_escaped(paths: Paths) -> None:
    section = program_section(ServiceSpec("x", ("date", "+%s")), paths)
    assert "command=date +%%s" in section


def test_whole_file_has_control_socket_and_programs(paths: Paths) -> None:
    text = supervisord_conf([ServiceSpec("a", ("true",)), ServiceSpec("b", ("true",))], paths)
    parser = parse(text)
    assert parser["unix_http_server"]["chmod"] == "0700"
    assert {"program:a", "program:b"} <= set(parser.sections())
