"""Request inputs read with Java's rules (the API-level cases are in test_confluent_parity)."""

from __future__ import annotations

import pytest

from schema_registry.errors import RegistryError
from schema_registry.params import LATEST, check_subject, java_bool, java_int, parse_version


@pytest.mark.parametrize(
    ("text", "number"),
    [("7", 7), ("+7", 7), ("-7", -7), ("007", 7), ("2147483647", 2**31 - 1), ("-2147483648", -(2**31))],
)
def test_java_int_reads_what_parse_int_reads(text: str, number: int) -> None:
    assert java_int(text) == number


@pytest.mark.parametrize("text", ["", " 7", "7 ", "1_000", "1.0", "0x10", "٣", "2147483648", "abc"])
def test_java_int_refuses_the_rest(text: str) -> None:
    assert java_int(text) is None


@pytest.mark.parametrize(
    ("value", "flag"), [("true", True), ("TRUE", True), ("1", False), ("yes", False), ("", False)]
)
def test_java_bool(value: str, flag: bool) -> None:
    assert java_bool(value) is flag


def test_parse_version() -> None:
    assert parse_version("\tLatest ") == LATEST
    assert parse_version("-1") == LATEST
    assert parse_version(" 3 ") == 3
    with pytest.raises(RegistryError) as refused:
        parse_version("-0")
    assert refused.value.error_code == 42202 and "'0'" in refused.value.message


@pytest.mark.parametrize("subject", ["a\x00b", "tab\t", "\x9f", "__GLOBAL", "__EMPTY"])
def test_check_subject_refuses(subject: str) -> None:
    with pytest.raises(RegistryError) as refused:
        check_subject(subject)
    assert refused.value.error_code == 42208


@pytest.mark.parametrize("subject", ["clicks-value", "a:b", "*", "__global", "ü", "x\xa0y"])
def test_check_subject_accepts(subject: str) -> None:
    check_subject(subject)
