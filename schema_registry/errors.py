"""Confluent's error JSON (``{"error_code": ..., "message": ...}``) and its codes."""

from __future__ import annotations

import sqlite3
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryResponse(JSONResponse):
    """JSON with the registry's own media type, as Confluent answers."""

    media_type = MEDIA_TYPE


class RegistryError(Exception):
    """An API error: ``error_code`` is Confluent's code, the HTTP status its first three digits."""

    def __init__(self, error_code: int, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def status(self) -> int:
        return self.error_code if self.error_code < 1000 else self.error_code // 100


def subject_not_found(subject: str) -> RegistryError:
    return RegistryError(40401, f"Subject '{subject}' not found.")


def version_not_found(version: int) -> RegistryError:
    """``version`` as Confluent's ``VersionId`` holds it: ``latest`` is -1."""
    return RegistryError(40402, f"Version {version} not found.")


def schema_not_found(schema_id: int | None = None) -> RegistryError:
    return RegistryError(40403, "Schema not found" if schema_id is None else f"Schema {schema_id} not found")


# The soft-delete texts lack a space after "deleted.": Confluent's own, kept byte for byte.
def subject_soft_deleted(subject: str) -> RegistryError:
    return RegistryError(
        40404, f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
    )


def subject_not_soft_deleted(subject: str) -> RegistryError:
    return RegistryError(40405, f"Subject '{subject}' was not deleted first before being permanently deleted")


def version_soft_deleted(subject: str, version: int) -> RegistryError:
    return RegistryError(
        40406,
        f"Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently",
    )


def version_not_soft_deleted(subject: str, version: int) -> RegistryError:
    return RegistryError(
        40407, f"Subject '{subject}' Version {version} was not deleted first before being permanently deleted"
    )


def no_subject_config(subject: str) -> RegistryError:
    return RegistryError(40408, f"Subject '{subject}' does not have subject-level compatibility configured")


def incompatible(subject: str, messages: list[str]) -> RegistryError:
    """HTTP 409; error_code 40901 since Confluent 8.0.4 and 8.2 (409 before)."""
    details = ", ".join(messages)  # Java's List.toString()
    return RegistryError(
        40901,
        f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
        f"details: [{details}]",
    )


def invalid_schema(message: str) -> RegistryError:
    return RegistryError(42201, message)


def invalid_version(version: str) -> RegistryError:
    return RegistryError(
        42202,
        f"The specified version '{version}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"',
    )


def invalid_compatibility() -> RegistryError:
    return RegistryError(
        42203,
        "Invalid compatibility level. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive",
    )


def invalid_subject(subject: str) -> RegistryError:
    return RegistryError(42208, f"The specified subject '{subject}' is not a valid.")  # sic


def http_not_found() -> RegistryError:
    """What JAX-RS answers when no resource matches, e.g. a path parameter that is not an int."""
    return RegistryError(404, "HTTP 404 Not Found")


def _body(code: int, message: str, status: int) -> RegistryResponse:
    return RegistryResponse({"error_code": code, "message": message}, status_code=status)


def install_handlers(app: FastAPI) -> None:
    """Every error, routing ones included, leaves as Confluent's error JSON."""

    @app.exception_handler(RegistryError)
    async def registry_error(_: Request, error: RegistryError) -> RegistryResponse:
        return _body(error.error_code, error.message, error.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> RegistryResponse:
        phrase = HTTPStatus(error.status_code).phrase
        return _body(error.status_code, f"HTTP {error.status_code} {phrase}", error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> RegistryResponse:
        """Confluent's answers (details stay in the log: Starlette re-raises, uvicorn logs it)."""
        if isinstance(error, sqlite3.Error):
            return _body(50001, "Error in the backend data store", 500)
        return _body(500, "Internal Server Error", 500)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> RegistryResponse:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return _body(422, f"Unprocessable entity: {details}", 422)
