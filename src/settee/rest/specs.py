"""OpenAPI 3 specs: loaded once, calls validated before they are sent, ``help()`` explained.

::

    client = Client(url, auth=key, use_specs=True, specs_location="openapi.yml")
    client.products.filter(limit="ten")   # SpecValidationError before any request
    client.products.help()                # prints the operations on /products...

A spec is read from a local path or an http(s) URL, JSON or YAML, parsed once
and kept in memory (one copy per location and file version, shared by every
client). Schemas are checked by ``openapi-schema-validator`` (on
``jsonschema``), which knows OpenAPI's own keywords (``nullable``,
``readOnly``/``writeOnly``, ``discriminator``); ``$ref`` pointers resolve inside
the document. Both are the optional extra ``settee[specs]`` (with PyYAML).

Nothing here sends a request: the client fetches a spec URL through its own
transport and hands the bytes over (:func:`parse_specs`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import cachetools

from settee.errors import SetteeError

__all__ = [
    "Operation",
    "SpecValidationError",
    "Specs",
    "is_url",
    "parse_specs",
    "read_specs_file",
]

_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
_SPEC_URI = "urn:settee:openapi-spec"
_MISSING_EXTRA = (
    "OpenAPI specs need the optional extra: pip install 'settee[specs]' "
    "(PyYAML, jsonschema, openapi-schema-validator)"
)


class SpecValidationError(SetteeError, ValueError):
    """A call (or, opt-in, an answer) that the OpenAPI spec does not allow.

    Raised before anything is sent. ``operation`` is the spec's operationId
    (or ``"GET /path"``), ``field`` the failing parameter or body path
    (``"query.limit"``, ``"body.price"``, ``"path"``), ``reason`` the
    validator's message.
    """

    def __init__(self, message: str, *, operation: str, field: str, reason: str) -> None:
        super().__init__(message)
        self.operation = operation
        self.field = field
        self.reason = reason


def is_url(location: str) -> bool:
    """True if ``location`` is an http(s) URL (else it is a local path)."""
    return location.lower().startswith(("http://", "https://"))


def _load_yaml(text: str) -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise ImportError(_MISSING_EXTRA) from exc
    # libyaml's loader when PyYAML was built with it: ~50x faster on a large spec.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # a safe loader either way


def parse_specs(content: bytes | str, *, location: str = "<specs>") -> Specs:
    """A :class:`Specs` from the text of an OpenAPI 3 document (JSON or YAML).

    Raises ``ValueError`` if it is not an OpenAPI 3 document.
    """
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    stripped = text.lstrip()
    document = json.loads(text) if stripped.startswith("{") else _load_yaml(text)
    return Specs(document, location=location)


_file_cache: cachetools.LRUCache[tuple[str, int, int], Specs] = cachetools.LRUCache(maxsize=16)
_url_cache: cachetools.LRUCache[str, Specs] = cachetools.LRUCache(maxsize=16)
_lock = threading.Lock()


def read_specs_file(location: str | Path) -> Specs:
    """The spec at a local path, parsed once per file version (path, mtime, size)."""
    path = Path(location).expanduser().resolve()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _file_cache.get(key)
    if cached is not None:
        return cached
    specs = parse_specs(path.read_bytes(), location=str(path))
    with _lock:
        _file_cache[key] = specs
    return specs


def cached_url_specs(url: str) -> Specs | None:
    """The spec already fetched from ``url`` in this process, if any."""
    with _lock:
        return _url_cache.get(url)


def remember_url_specs(url: str, specs: Specs) -> None:
    """Keep ``specs`` as the spec of ``url`` for the rest of the process."""
    with _lock:
        _url_cache[url] = specs


@dataclass(frozen=True)
class Operation:
    """One operation of the spec: ``method`` on the path template ``path``."""

    method: str
    path: str
    pointer: str
    spec: Mapping[str, Any]
    parameters: tuple[Mapping[str, Any], ...]

    @property
    def name(self) -> str:
        """The operationId, else ``"GET /path"``."""
        op_id = self.spec.get("operationId")
        return str(op_id) if op_id else f"{self.method.upper()} {self.path}"

    @property
    def summary(self) -> str:
        """The summary (else the first line of the description), or ``""``."""
        text = self.spec.get("summary") or self.spec.get("description") or ""
        return str(text).strip().splitlines()[0] if str(text).strip() else ""


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


class Specs:
    """A parsed OpenAPI 3 document: operations by path template, schema validators, help text."""

    def __init__(self, document: Any, *, location: str = "<specs>") -> None:
        if not isinstance(document, Mapping) or not str(document.get("openapi", "")).startswith(
            "3."
        ):
            raise ValueError(f"{location} is not an OpenAPI 3 document (no 'openapi: 3.x' field)")
        self.document: Mapping[str, Any] = document
        self.location = location
        self.title = str((document.get("info") or {}).get("title", ""))
        servers = document.get("servers") or []
        first = servers[0].get("url", "") if servers and isinstance(servers[0], Mapping) else ""
        #: Path prefix of the first server URL ("/public/v1"); spec paths hang below it.
        self.base_path = urlsplit(str(first)).path.rstrip("/")
        self._paths: list[tuple[list[str], str, Mapping[str, Any]]] = []
        for template, item in (document.get("paths") or {}).items():
            if isinstance(item, Mapping):
                self._paths.append((_segments(template), template, item))
        # More literal segments first: /products/stats wins over /products/{id}.
        self._paths.sort(key=lambda p: (-len(p[0]), sum(_is_param(s) for s in p[0])))
        self._validators: dict[tuple[str, bool], Any] = {}
        self._validators_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Specs({self.location!r}, {len(self._paths)} paths)"

    # -- finding operations -------------------------------------------------------
    def _relative(self, url_path: str) -> list[str] | None:
        path = url_path  # segments are unquoted one by one, after splitting
        if self.base_path:
            if path.rstrip("/") != self.base_path and not path.startswith(self.base_path + "/"):
                return None
            path = path[len(self.base_path) :]
        return [unquote(s) for s in _segments(path)]

    def match(self, url_path: str) -> tuple[str, Mapping[str, Any], dict[str, str]] | None:
        """``(template, path item, path parameters)`` for a URL path, or None."""
        segments = self._relative(url_path)
        if segments is None:
            return None
        for parts, template, item in self._paths:
            if len(parts) != len(segments):
                continue
            values: dict[str, str] = {}
            for part, seg in zip(parts, segments, strict=False):
                if _is_param(part):
                    values[part[1:-1]] = seg
                elif part != seg:
                    break
            else:
                return template, item, values
        return None

    def operation(self, template: str, item: Mapping[str, Any], method: str) -> Operation | None:
        """The operation ``method`` of path ``template`` (None if the spec has none)."""
        op = item.get(method.lower())
        if not isinstance(op, Mapping):
            return None
        by_key: dict[tuple[str, str], Mapping[str, Any]] = {}
        for param in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
            param = self._deref(param)
            if isinstance(param, Mapping):
                by_key[(str(param.get("in")), str(param.get("name")))] = param
        pointer = "/paths/" + _escape(template) + "/" + method.lower()
        return Operation(method.lower(), template, pointer, op, tuple(by_key.values()))

    def has_prefix(self, url_path: str) -> bool:
        """True if some spec path is ``url_path`` or lies below it."""
        segments = self._relative(url_path)
        if segments is None:
            return False
        return any(_prefix_of(segments, parts) for parts, _, _ in self._paths)

    def operations_under(self, url_path: str, *, exact: bool = False) -> Iterator[Operation]:
        """Every operation on ``url_path`` (templates match) and, unless ``exact``, below it."""
        segments = self._relative(url_path)
        if segments is None:
            return
        for parts, template, item in sorted(self._paths, key=lambda p: p[1]):
            if exact and len(parts) != len(segments):
                continue
            if not _prefix_of(segments, parts):
                continue
            for method in _METHODS:
                op = self.operation(template, item, method)
                if op is not None:
                    yield op

    def _deref(self, value: Any) -> Any:
        seen = 0
        while isinstance(value, Mapping) and "$ref" in value and seen < 32:
            ref = str(value["$ref"])
            if not ref.startswith("#/"):
                return value
            target: Any = self.document
            for token in ref[2:].split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                target = target.get(token) if isinstance(target, Mapping) else None
            value = target
            seen += 1
        return value

    # -- validating ------------------------------------------------------------------
    def _validator(self, pointer: str, *, response: bool) -> Any:
        key = (pointer, response)
        with self._validators_lock:
            found = self._validators.get(key)
        if found is not None:
            return found
        try:
            import openapi_schema_validator as osv
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT4, DRAFT202012
        except ImportError as exc:
            raise ImportError(_MISSING_EXTRA) from exc
        oas31 = str(self.document.get("openapi", "")).startswith("3.1")
        spec = DRAFT202012 if oas31 else DRAFT4
        registry: Any = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(dict(self.document), default_specification=spec)
        )
        if oas31:
            cls: Any = osv.OAS31Validator
        else:
            # A request may carry read-only fields it fetched; an answer must not show write-only.
            cls = osv.OAS30ReadValidator if response else osv.OAS30Validator
        validator = cls(
            {"$ref": f"{_SPEC_URI}#{pointer}"},
            registry=registry,
            format_checker=cls.FORMAT_CHECKER,
        )
        with self._validators_lock:
            self._validators[key] = validator
        return validator

    def _check(
        self, op: Operation, pointer: str, value: Any, field: str, *, response: bool = False
    ) -> None:
        validator = self._validator(pointer, response=response)
        error = _best_error(validator.iter_errors(value))
        if error is None:
            return
        steps = error.absolute_path
        where = field + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in steps)
        raise SpecValidationError(
            f"{op.name} ({op.method.upper()} {op.path}): {where}: {error.message}",
            operation=op.name,
            field=where,
            reason=str(error.message),
        )

    def check_request(self, method: str, url: str, body: Any, *, has_body: bool) -> Operation:
        """Validate a request; return its operation. Raises :class:`SpecValidationError`."""
        parts = urlsplit(url)
        found = self.match(parts.path)
        call = f"{method.upper()} {parts.path}"
        if found is None:
            raise SpecValidationError(
                f"{call}: path: the spec ({self.location}) has no such path",
                operation=call,
                field="path",
                reason="no such path",
            )
        template, item, path_values = found
        op = self.operation(template, item, method)
        if op is None:
            allowed = ", ".join(m.upper() for m in _METHODS if isinstance(item.get(m), Mapping))
            raise SpecValidationError(
                f"{call}: method: the spec allows only {allowed} on {template}",
                operation=call,
                field="method",
                reason=f"{method.upper()} not allowed",
            )
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        for index, param in enumerate(op.parameters):
            where, name = str(param.get("in")), str(param.get("name"))
            values = {"path": {k: [v] for k, v in path_values.items()}, "query": query}.get(where)
            if values is None:
                continue  # header and cookie parameters are the transport's
            present = values.get(name)
            if not present:
                if param.get("required"):
                    raise SpecValidationError(
                        f"{op.name} ({op.method.upper()} {op.path}): {where}.{name}: is required",
                        operation=op.name,
                        field=f"{where}.{name}",
                        reason="required",
                    )
                continue
            if not isinstance(param.get("schema"), Mapping):
                continue
            pointer = self._param_pointer(op, param, index)
            schema = self._deref(param["schema"])
            for raw in present:
                self._check(op, pointer, _coerce(raw, schema), f"{where}.{name}")
        request_body = self._deref(op.spec.get("requestBody"))
        if isinstance(request_body, Mapping):
            if not has_body:
                if request_body.get("required"):
                    raise SpecValidationError(
                        f"{op.name} ({op.method.upper()} {op.path}): body: is required",
                        operation=op.name,
                        field="body",
                        reason="required",
                    )
            elif body is not None:  # a raw (multipart, text) body is not a JSON instance
                body_pointer = _json_schema_pointer(
                    request_body, op.pointer + "/requestBody", self._ref_of(op.spec, "requestBody")
                )
                if body_pointer is not None:
                    self._check(op, body_pointer, body, "body")
        return op

    def check_response(self, op: Operation, status: int, body: Any) -> None:
        """Validate a decoded JSON answer against ``op``'s response schema (if it has one)."""
        responses = op.spec.get("responses") or {}
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                base = op.pointer + "/responses/" + _escape(key)
                ref = responses[key].get("$ref") if isinstance(responses[key], Mapping) else None
                pointer = _json_schema_pointer(self._deref(responses[key]), base, ref)
                if pointer is not None:
                    self._check(op, pointer, body, "response", response=True)
                return

    def _ref_of(self, spec: Mapping[str, Any], key: str) -> str | None:
        value = spec.get(key)
        return str(value["$ref"]) if isinstance(value, Mapping) and "$ref" in value else None

    def _param_pointer(self, op: Operation, param: Mapping[str, Any], index: int) -> str:
        # Parameters may sit on the path item or the operation, inline or by $ref:
        # find where this one lives to point the validator at its schema.
        item_pointer = op.pointer.rsplit("/", 1)[0]
        for base, owner in (
            (op.pointer, op.spec),
            (item_pointer, self._deref_pointer(item_pointer)),
        ):
            for i, candidate in enumerate(owner.get("parameters") or []):
                if self._deref(candidate) is param:
                    if isinstance(candidate, Mapping) and "$ref" in candidate:
                        return str(candidate["$ref"])[1:] + "/schema"
                    return f"{base}/parameters/{i}/schema"
        return f"{op.pointer}/parameters/{index}/schema"  # pragma: no cover - found above

    def _deref_pointer(self, pointer: str) -> Mapping[str, Any]:
        value = self._deref({"$ref": "#" + pointer})
        return value if isinstance(value, Mapping) else {}

    # -- explaining --------------------------------------------------------------------
    def describe(self, url_path: str, *, exact: bool = False, title: str = "") -> str:
        """What the spec says about ``url_path`` (and, unless ``exact``, below): one block per
        operation with its summary and parameters."""
        lines = [title] if title else []
        ops = list(self.operations_under(url_path, exact=exact))
        if not ops:
            lines.append(f"  the spec ({self.location}) has no operation here")
        for op in ops:
            head = f"{op.method.upper():7} {self.base_path}{op.path}"
            lines.append(f"{head}  [{op.name}]" + (f"  {op.summary}" if op.summary else ""))
            for param in op.parameters:
                schema = self._deref(param.get("schema")) or {}
                kind = schema.get("type", "") if isinstance(schema, Mapping) else ""
                req = ", required" if param.get("required") else ""
                desc = str(param.get("description") or "").strip().splitlines()
                lines.append(
                    f"    {param.get('name')} ({param.get('in')}{', ' + kind if kind else ''}{req})"
                    + (f": {desc[0]}" if desc else "")
                )
            body = self._deref(op.spec.get("requestBody"))
            if isinstance(body, Mapping):
                kinds = ", ".join((body.get("content") or {}).keys())
                lines.append(
                    f"    body ({kinds}{', required' if body.get('required') else ''})"
                    + _body_fields(self, body)
                )
        return "\n".join(lines)


def _body_fields(specs: Specs, body: Mapping[str, Any]) -> str:
    media = (body.get("content") or {}).get("application/json")
    schema = specs._deref(media.get("schema")) if isinstance(media, Mapping) else None
    if isinstance(schema, Mapping) and schema.get("type") == "array":
        schema = specs._deref(schema.get("items"))
    if not isinstance(schema, Mapping) or not isinstance(schema.get("properties"), Mapping):
        return ""
    required = set(schema.get("required") or [])
    names = [f"{n}{'*' if n in required else ''}" for n in schema["properties"]]
    return ": " + ", ".join(names)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _prefix_of(segments: list[str], parts: list[str]) -> bool:
    if len(parts) < len(segments):
        return False
    return all(_is_param(p) or p == s for p, s in zip(parts, segments, strict=False))


def _json_schema_pointer(holder: Any, base: str, ref: str | None) -> str | None:
    """The pointer to the JSON media schema of a request body / response, or None."""
    if not isinstance(holder, Mapping):
        return None
    content = holder.get("content") or {}
    for media in content:
        if media == "application/json" or media.endswith("+json"):
            if not isinstance(content[media], Mapping) or "schema" not in content[media]:
                return None
            root = ref[1:] if ref else base
            return f"{root}/content/{_escape(media)}/schema"
    return None


def _coerce(raw: str, schema: Any) -> Any:
    """A query or path value (always text) as the JSON type its schema names, when it parses."""
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    kinds = kind if isinstance(kind, list) else [kind]
    if "integer" in kinds:
        try:
            return int(raw)
        except ValueError:
            return raw
    if "number" in kinds:
        try:
            return float(raw)
        except ValueError:
            return raw
    if "boolean" in kinds and raw in ("true", "false"):
        return raw == "true"
    return raw


def _best_error(errors: Iterable[Any]) -> Any:
    try:
        from jsonschema.exceptions import best_match
    except ImportError as exc:  # pragma: no cover - installed with openapi-schema-validator
        raise ImportError(_MISSING_EXTRA) from exc
    error = best_match(errors)
    # Into a oneOf/anyOf: the branches whose type fits say what is wrong with the value.
    while error is not None and error.context:
        fitting = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
        if not fitting:
            break
        error = best_match(fitting)
    return error
