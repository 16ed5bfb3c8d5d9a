"""Request inputs read as Confluent's JAX-RS resources and Jackson read them.

Path and query parameters, and JSON bodies, have Java's rules there (``Integer.valueOf``,
``Boolean.valueOf``, ``VersionId``, Jackson's coercions); FastAPI's own would answer 422 where
Confluent answers something else. Each function raises the :class:`RegistryError` Confluent
would.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, BeforeValidator, ValidationError

from schema_registry import errors
from schema_registry.errors import RegistryError

Model = TypeVar("Model", bound=BaseModel)
MAX_INT = 2**31 - 1  # Java's Integer.MAX_VALUE: versions and ids are Java ints
LATEST = -1  # the version number Confluent's VersionId gives "latest"
JAVA_INT = re.compile(r"[+-]?[0-9]+\Z")
JAVA_WHITESPACE = "".join(map(chr, range(0x21)))  # what Java's String.trim() strips
JAVA_ISO_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Character.isISOControl
RESERVED_SUBJECTS = frozenset({"__GLOBAL", "__EMPTY"})


def java_int(text: str) -> int | None:
    """``text`` as ``Integer.parseInt`` reads it (ASCII digits, a sign, 32 bits), or None."""
    if not JAVA_INT.match(text):
        return None
    number = int(text)
    return number if -MAX_INT - 1 <= number <= MAX_INT else None


def java_bool(value: object) -> bool:
    """A boolean query parameter as JAX-RS reads it (``Boolean.valueOf``): "true" in any case, else false."""
    return value is True or str(value).lower() == "true"


Flag = Annotated[bool, BeforeValidator(java_bool)]


async def read_body(request: Request, model: type[Model]) -> Model:
    """Decode the JSON body whatever its content type (clients send several).

    As Confluent (rest-utils' Jackson mappers): malformed JSON, or JSON that does not map onto
    the request (a number, an array, an object where text belongs) is 400 with error_code 400;
    no body at all is 422.
    """
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else None
    except json.JSONDecodeError as error:
        raise RegistryError(400, f"Invalid JSON body: {error}") from error
    if data is None:
        raise RegistryError(422, "Unprocessable entity: the request body may not be null")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())
        raise RegistryError(400, f"Cannot map the request body: {details}") from error


def parse_version(version: str) -> int:
    """A version number, or :data:`LATEST` for ``latest`` and ``-1``, as Confluent's ``VersionId``.

    Trimmed, ``latest`` in any case, a Java int (sign allowed); out of range or unparsable is
    42202 with the text as given, zero or negative (but -1) with the number.
    """
    text = version.strip(JAVA_WHITESPACE)
    if text.lower() == "latest":
        return LATEST
    number = java_int(text)
    if number is None:
        raise errors.invalid_version(version)
    if number <= 0 and number != LATEST:
        raise errors.invalid_version(str(number))
    return number


def check_subject(subject: str) -> None:
    """42208 for a name Confluent refuses to create: control characters, or a reserved name."""
    if JAVA_ISO_CONTROL.search(subject) or subject in RESERVED_SUBJECTS:
        raise errors.invalid_subject(subject)


def path_schema_id(schema_id: str) -> int:
    """The ``{schema_id}`` path parameter as JAX-RS converts an ``Integer``: else a plain 404."""
    number = java_int(schema_id)
    if number is None:
        raise errors.http_not_found()
    return number


SchemaId = Annotated[int, Depends(path_schema_id)]
