"""Parse, validate strictly and canonicalize Avro schemas.

fastavro parses (and checks most defaults); a second pass adds the checks Java Avro makes
and fastavro skips (names, duplicate fields or union branches, union defaults against the
first branch, fixed sizes, record defaults) and writes the canonical JSON that is stored:
keys in a fixed order, names written as Avro's ``Schema.toString()`` writes them
(simple name plus ``namespace`` only where it changes), no whitespace, and without the
reserved attributes Java Avro drops where a type has no use for them (a primitive's ``name``
or ``doc``). Two texts that mean the same schema give the same canonical text, hence the
same id.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from fastavro import parse_schema

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED = frozenset({"record", "error", "enum", "fixed"})
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
FIELD_ORDERS = frozenset({"ascending", "descending", "ignore"})
# Java Avro's Schema.SCHEMA_RESERVED: attributes its parser never keeps as properties, so a type
# that has no use for one (a primitive's "name", an array's "doc") loses it, canonical text included
RESERVED = frozenset(
    {"doc", "fields", "items", "name", "namespace", "size", "symbols", "values", "type", "aliases"}
)
INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)


class InvalidSchemaError(ValueError):
    """The text is not a valid Avro schema; the message says why."""


@dataclass(frozen=True)
class AvroSchema:
    """A parsed schema: the canonical text (stored and served) and fastavro's parsed form."""

    canonical: str
    parsed: Any
    named: dict[str, Any]


def parse(schema: str | Any) -> AvroSchema:
    """Parse a schema text (or its decoded JSON); raises :class:`InvalidSchemaError`."""
    if isinstance(schema, str):
        try:
            raw = json.loads(schema)
        except json.JSONDecodeError as error:
            raise InvalidSchemaError(f"Invalid schema: not JSON ({error})") from error
    else:
        raw = schema
    named: dict[str, Any] = {}
    try:
        parsed = parse_schema(raw, named_schemas=named, _write_hint=False)
    except Exception as error:
        raise InvalidSchemaError(f"Invalid Avro schema: {_describe(error)}") from error
    tree = _Canonicalizer().walk(raw, "", "$")
    canonical = json.dumps(tree, separators=(",", ":"), ensure_ascii=False)
    return AvroSchema(canonical=canonical, parsed=parsed, named=named)


@lru_cache(maxsize=1024)
def parse_cached(canonical: str) -> AvroSchema:
    """Parse a stored (already canonical) text once per process."""
    return parse(canonical)


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing attribute {error}"
    return f"{type(error).__name__}: {error}" if not str(error) else str(error)


def _ordered(source: dict[str, Any], first: dict[str, Any], *optional: str) -> dict[str, Any]:
    """``first``, then the ``optional`` keys ``source`` has, then its other properties sorted by key."""
    out = dict(first)
    out.update((key, source[key]) for key in optional if key in source)
    out.update((key, source[key]) for key in sorted(source) if key not in out)
    return out


def _own(schema: dict[str, Any], *used: str) -> dict[str, Any]:
    """``schema`` without the reserved attributes its type does not ``use``, as Java Avro parses it."""
    return {key: value for key, value in schema.items() if key in used or key not in RESERVED}


def _split(fullname: str) -> tuple[str, str]:
    namespace, _, name = fullname.rpartition(".")
    return namespace, name


class _Canonicalizer:
    """One walk over the raw JSON: strict checks plus the canonical tree."""

    def __init__(self) -> None:
        self.defs: dict[str, tuple[dict[str, Any], str]] = {}  # fullname -> (definition, its namespace)

    # -- names -------------------------------------------------------------------------
    def _define(self, schema: dict[str, Any], ns: str, path: str) -> tuple[str, str]:
        name = schema.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidSchemaError(f"{path}: a named type needs a 'name'")
        namespace = schema.get("namespace")
        if "." in name:
            fullname = name
        else:
            space = namespace if isinstance(namespace, str) else ns
            fullname = f"{space}.{name}" if space else name
        own_ns, simple = _split(fullname)
        for part in [simple, *(own_ns.split(".") if own_ns else [])]:
            if not NAME_RE.match(part):
                raise InvalidSchemaError(
                    f"{path}: invalid name '{fullname}' (each part must match {NAME_RE.pattern})"
                )
        if simple in PRIMITIVES and not own_ns:
            raise InvalidSchemaError(f"{path}: '{simple}' is a primitive type and cannot be redefined")
        if fullname in self.defs:
            raise InvalidSchemaError(f"{path}: the name '{fullname}' is defined twice")
        self.defs[fullname] = (schema, own_ns)
        return fullname, own_ns

    def _name_fields(self, fullname: str, ns: str) -> dict[str, Any]:
        own_ns, simple = _split(fullname)
        return {"name": simple} if own_ns == ns else {"name": simple, "namespace": own_ns}

    def _resolve(self, name: str, ns: str) -> str | None:
        candidates = [name] if "." in name else [f"{ns}.{name}" if ns else name, name]
        return next((full for full in candidates if full in self.defs), None)

    # -- walk --------------------------------------------------------------------------
    def walk(self, schema: Any, ns: str, path: str) -> Any:
        if isinstance(schema, str):
            return self._reference(schema, ns, path)
        if isinstance(schema, list):
            return self._union(schema, ns, path)
        if not isinstance(schema, dict):
            raise InvalidSchemaError(f"{path}: expected a type name, a union or an object, got {schema!r}")
        kind = schema.get("type")
        if not isinstance(kind, str):
            raise InvalidSchemaError(f"{path}: 'type' must be a string, got {kind!r}")
        if kind in PRIMITIVES:
            props = _own(schema, "type")
            return _ordered(props, {"type": kind}) if len(props) > 1 else kind
        if kind in ("record", "error"):
            return self._record(schema, ns, path)
        if kind == "enum":
            return self._enum(schema, ns, path)
        if kind == "fixed":
            return self._fixed(schema, ns, path)
        if kind == "array":
            return _ordered(
                _own(schema, "type", "items"),
                {"type": "array", "items": self.walk(schema["items"], ns, f"{path}.items")},
            )
        if kind == "map":
            return _ordered(
                _own(schema, "type", "values"),
                {"type": "map", "values": self.walk(schema["values"], ns, f"{path}.values")},
            )
        if len(schema) == 1:  # {"type": "some.Named"}
            return self._reference(kind, ns, path)
        raise InvalidSchemaError(f"{path}: unknown type '{kind}'")

    def _reference(self, name: str, ns: str, path: str) -> str:
        if name in PRIMITIVES:
            return name
        fullname = self._resolve(name, ns)
        if fullname is None:
            raise InvalidSchemaError(f"{path}: unknown type '{name}'")
        space, simple = _split(fullname)
        return simple if space == ns else fullname

    def _union(self, branches: list[Any], ns: str, path: str) -> list[Any]:
        seen: set[str] = set()
        out = []
        for index, branch in enumerate(branches):
            where = f"{path}[{index}]"
            if isinstance(branch, list):
                raise InvalidSchemaError(f"{where}: a union cannot directly contain another union")
            canonical = self.walk(branch, ns, where)
            key = self._branch_key(branch, ns)
            if key in seen:
                raise InvalidSchemaError(f"{where}: the union contains '{key}' twice")
            seen.add(key)
            out.append(canonical)
        return out

    def _branch_key(self, branch: Any, ns: str) -> str:
        if isinstance(branch, str):
            return branch if branch in PRIMITIVES else (self._resolve(branch, ns) or branch)
        kind = branch["type"]
        if kind in NAMED:
            name = branch["name"]
            space = branch.get("namespace", ns)
            return name if "." in name else (f"{space}.{name}" if space else name)
        if kind in PRIMITIVES or kind in ("array", "map"):
            return kind
        return self._resolve(kind, ns) or kind

    def _record(self, schema: dict[str, Any], ns: str, path: str) -> dict[str, Any]:
        fullname, own_ns = self._define(schema, ns, path)
        fields = schema.get("fields")
        if not isinstance(fields, list):
            raise InvalidSchemaError(f"{path}: record '{fullname}' needs a 'fields' list")
        names: set[str] = set()
        out_fields = []
        for index, field in enumerate(fields):
            where = f"{path}.fields[{index}]"
            if not isinstance(field, dict) or "type" not in field:
                raise InvalidSchemaError(f"{where}: a field must be an object with 'name' and 'type'")
            name = field.get("name")
            if not isinstance(name, str) or not NAME_RE.match(name):
                raise InvalidSchemaError(f"{where}: invalid field name {name!r}")
            if name in names:
                raise InvalidSchemaError(f"{path}: record '{fullname}' has two fields named '{name}'")
            names.add(name)
            where = f"{path}.{name}"
            field_type = self.walk(field["type"], own_ns, where)
            if "default" in field and not self._default_ok(field["type"], own_ns, field["default"]):
                raise InvalidSchemaError(
                    f"{where}: invalid default {field['default']!r} for type {json.dumps(field_type)}"
                    " (a union's default must match its first branch)"
                )
            if "order" in field and field["order"] not in FIELD_ORDERS:
                raise InvalidSchemaError(f"{where}: invalid order {field['order']!r}")
            out_fields.append(
                _ordered(field, {"name": name, "type": field_type}, "doc", "default", "order", "aliases")
            )
        first = {"type": schema["type"], **self._name_fields(fullname, ns)}
        props = _own(schema, "type", "doc", "aliases", "fields")  # name, namespace: in `first`
        return _ordered({**props, "fields": out_fields}, first, "doc", "aliases", "fields")

    def _enum(self, schema: dict[str, Any], ns: str, path: str) -> dict[str, Any]:
        fullname, _ = self._define(schema, ns, path)
        symbols = schema.get("symbols")
        if not isinstance(symbols, list) or not all(isinstance(s, str) and NAME_RE.match(s) for s in symbols):
            raise InvalidSchemaError(f"{path}: enum '{fullname}' needs 'symbols', a list of valid names")
        if len(set(symbols)) != len(symbols):
            raise InvalidSchemaError(f"{path}: enum '{fullname}' has duplicate symbols")
        if "default" in schema and schema["default"] not in symbols:
            raise InvalidSchemaError(f"{path}: enum default {schema['default']!r} is not one of its symbols")
        first = {"type": "enum", **self._name_fields(fullname, ns)}
        props = _own(schema, "type", "doc", "aliases", "symbols")
        return _ordered(props, first, "doc", "aliases", "symbols", "default")

    def _fixed(self, schema: dict[str, Any], ns: str, path: str) -> dict[str, Any]:
        fullname, _ = self._define(schema, ns, path)
        size = schema.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidSchemaError(f"{path}: fixed '{fullname}' needs a non-negative integer 'size'")
        first = {"type": "fixed", **self._name_fields(fullname, ns)}
        return _ordered(_own(schema, "type", "doc", "aliases", "size"), first, "doc", "aliases", "size")

    # -- defaults ----------------------------------------------------------------------
    def _default_ok(self, schema: Any, ns: str, value: Any) -> bool:
        if isinstance(schema, list):
            return bool(schema) and self._default_ok(schema[0], ns, value)
        if isinstance(schema, str):
            if schema in PRIMITIVES:
                return _primitive_ok(schema, value)
            definition, own_ns = self.defs[self._resolve(schema, ns) or schema]
            return self._default_ok(definition, own_ns, value)
        kind = schema["type"]
        if kind in PRIMITIVES:
            return _primitive_ok(kind, value)
        if kind in ("record", "error"):
            space = _split(self._branch_key(schema, ns))[0]
            return isinstance(value, dict) and all(
                self._default_ok(f["type"], space, value[f["name"]]) if f["name"] in value else "default" in f
                for f in schema["fields"]
            )
        if kind == "enum":
            return value in schema["symbols"]
        if kind == "fixed":
            return _primitive_ok("bytes", value) and len(value) == schema["size"]
        if kind == "array":
            return isinstance(value, list) and all(self._default_ok(schema["items"], ns, v) for v in value)
        if kind == "map":
            return isinstance(value, dict) and all(
                self._default_ok(schema["values"], ns, v) for v in value.values()
            )
        return self._default_ok(kind, ns, value)


def _primitive_ok(kind: str, value: Any) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        low, high = INT_RANGE if kind == "int" else LONG_RANGE
        return number and float(value).is_integer() and isinstance(value, int) and low <= value <= high
    if kind in ("float", "double"):
        return number
    if kind == "string":
        return isinstance(value, str)
    return isinstance(value, str) and all(ord(char) < 256 for char in value)  # bytes: ISO-8859-1 text
