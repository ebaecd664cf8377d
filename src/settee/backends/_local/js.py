"""JavaScript design documents in QuickJS (the ``settee[js]`` extra).

QuickJS is the engine CouchDB 3.5 runs design documents in; the ``quickjs``
binding from PyPI runs it here. Each thread has its own runtime (a context must
not be shared by threads) holding the functions it compiled; each call has a
time limit (:data:`TIME_LIMIT` seconds) and the runtime a memory limit
(:data:`MEMORY_LIMIT` bytes): a runaway function raises
:class:`~settee.errors.ServerError` (``os_process_timeout``, as CouchDB) and
the runtime is started afresh. Map functions see CouchDB's globals ``emit``,
``sum``, ``log``, ``toJSON`` and ``isArray`` (no ``require``); a map function
that throws for one document emits nothing for it and the error is logged, as
CouchDB does.

Without the extra every use raises :class:`~settee.errors.NotSupported`
naming it.

:func:`check_write` applies the database's ``validate_doc_update`` functions
to a write, as CouchDB does (replicated ``new_edits=false`` writes included;
design and ``_local`` documents excepted): a thrown ``{forbidden: msg}`` is
:class:`~settee.errors.Forbidden`, ``{unauthorized: msg}``
:class:`~settee.errors.Unauthorized`, anything else a ``ServerError``.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from settee._validate import check_int, check_number
from settee.backends._local.reads import get_doc, render
from settee.backends._local.state import EngineState, design_infos
from settee.backends._local.storage import DbMeta, DocInfo, Txn
from settee.errors import BadRequest, Forbidden, NotFound, NotSupported, ServerError, Unauthorized

try:
    import quickjs
except ImportError:  # the settee[js] extra is not installed
    quickjs = None

__all__ = [
    "MEMORY_LIMIT",
    "TIME_LIMIT",
    "available",
    "changes_filter",
    "check_write",
    "compile_function",
    "configure",
    "map_docs",
    "reduce_values",
    "require_js",
    "validators",
]

log = logging.getLogger("settee.js")

#: Seconds one call into JavaScript may run (CouchDB's ``os_process_timeout``: 5 s).
TIME_LIMIT = 5.0
#: Bytes the QuickJS runtime may allocate.
MEMORY_LIMIT = 256 * 1024 * 1024

_PRELUDE = r"""
var __fns = [];
var __out = null;
function emit(key, value) {
  if (__out === null) throw new Error("emit is only available in map functions");
  __out.push([key === undefined ? null : key, value === undefined ? null : value]);
}
function sum(values) {
  var total = 0;
  for (var i = 0; i < values.length; i++) total += values[i];
  return total;
}
function toJSON(value) { return JSON.stringify(value); }
function isArray(value) { return Array.isArray(value); }
// Python cannot be called while a time limit is set: log lines go back with the answer.
var __logs = [];
function log(message) {
  __logs.push(typeof message === "string" ? message : JSON.stringify(message));
}
function __seal(value) {
  if (value !== null && typeof value === "object") {
    Object.freeze(value);
    for (var k in value) __seal(value[k]);
  }
  return value;
}
function __describe(e) {
  if (e !== null && typeof e === "object" && !(e instanceof Error)) return {thrown: e};
  if (typeof e === "string") return {thrown: e};
  var reason = e && e.message !== undefined ? e.message : e;
  return {error: String(e && e.name || "Error"), reason: String(reason)};
}
function __settee(op, a, b) {
  var answer = __dispatch(op, a, b);
  return JSON.stringify({answer: answer, log: __logs.splice(0, __logs.length)});
}
function __dispatch(op, a, b) {
  if (op === "compile") {
    var f;
    try { f = (0, eval)("(" + a + "\n)"); }
    catch (e) { return {error: "compilation_error", reason: String(e)}; }
    if (typeof f !== "function")
      return {
        error: "compilation_error",
        reason: "Expression does not eval to a function. (" + a + ")"
      };
    __fns.push(f);
    return {id: __fns.length - 1};
  }
  var args = JSON.parse(b);
  if (op === "map") {
    var ids = JSON.parse(a), out = [];
    for (var d = 0; d < args.length; d++) {
      var doc = __seal(args[d]), per = [];
      for (var i = 0; i < ids.length; i++) {
        __out = [];
        try { __fns[ids[i]](doc); }
        catch (e) {
          __out = [];
          log("function raised exception (" + String(e) + ") with doc._id " + doc._id);
        }
        per.push(__out);
      }
      out.push(per);
    }
    __out = null;
    return out;
  }
  __out = null;
  try {
    var value = __fns[Number(a)].apply(null, args);
    return {ok: value === undefined ? null : value};
  } catch (e) {
    return __describe(e);
  }
}
"""


def configure(*, time_limit: float | None = None, memory_limit: int | None = None) -> None:
    """Set the limits (seconds per call, bytes per runtime); the next call starts a
    runtime with them. ``ValueError`` unless positive."""
    global TIME_LIMIT, MEMORY_LIMIT
    if time_limit is not None:
        TIME_LIMIT = check_number("time_limit", time_limit, strict=True)
    if memory_limit is not None:
        MEMORY_LIMIT = check_int("memory_limit", memory_limit, 1)
    with _LOCK:
        _GENERATION[0] += 1


def available() -> bool:
    """Whether the ``settee[js]`` extra (the ``quickjs`` binding) is installed."""
    return quickjs is not None


def require_js(what: str) -> None:
    """``NotSupported`` naming the extra unless it is installed."""
    if quickjs is None:
        raise NotSupported(
            f"{what} needs the settee[js] extra to run JavaScript on the embedded backend "
            "(pip install 'settee[js]' installs the QuickJS binding)."
        )


class _Runtime:
    """One QuickJS context, used only by the thread that made it (the binding's
    contexts must never be touched by two threads)."""

    def __init__(self, generation: int) -> None:
        assert quickjs is not None
        self.generation = generation
        self.context = quickjs.Context()
        self.context.set_time_limit(TIME_LIMIT)
        self.context.set_memory_limit(MEMORY_LIMIT)
        self.context.eval(_PRELUDE)
        self.fn = self.context.get("__settee")
        self.compiled: dict[str, int] = {}
        self.calls = 0


_LOCK = threading.Lock()
_LOCAL = threading.local()
#: Bumped by :func:`configure`: each thread's runtime is then made afresh.
_GENERATION = [0]


def _runtime() -> _Runtime:
    require_js("JavaScript design documents")
    runtime: _Runtime | None = getattr(_LOCAL, "runtime", None)
    if runtime is None or runtime.generation != _GENERATION[0]:
        runtime = _LOCAL.runtime = _Runtime(_GENERATION[0])
    return runtime


def _call(runtime: _Runtime, op: str, a: str, b: str) -> Any:
    """Run ``__settee(op, a, b)``; its JSON answer decoded."""
    try:
        runtime.calls += 1
        text = runtime.fn(op, a, b)
        if runtime.calls % 64 == 0:
            runtime.context.gc()
    except Exception as exc:  # the binding raises JSException, StackOverflow...
        if getattr(_LOCAL, "runtime", None) is runtime:
            _LOCAL.runtime = None  # a runtime past its limits is not trusted again
        reason = str(exc).strip() or type(exc).__name__
        if "interrupted" in reason:
            raise ServerError(
                f"JavaScript ran past its time limit of {TIME_LIMIT} s: {reason}",
                error="os_process_timeout",
            ) from exc
        raise ServerError(
            f"JavaScript failed (out of memory past {MEMORY_LIMIT} bytes?): {reason}",
            error="os_process_error",
        ) from exc
    reply = json.loads(text)
    for line in reply["log"]:
        log.info("%s", line)
    return reply["answer"]


def compile_function(source: Any) -> tuple[_Runtime, int]:
    """The runtime and number of the compiled ``source``; ``BadRequest``
    (``compilation_error``) if it is not a JavaScript function."""
    if not isinstance(source, str):
        raise BadRequest(
            f"A JavaScript function must be a string, not {source!r}", error="compilation_error"
        )
    runtime = _runtime()
    found = runtime.compiled.get(source)
    if found is not None:
        return runtime, found
    answer = _call(runtime, "compile", source, "null")
    if "error" in answer:
        raise BadRequest(str(answer["reason"]), error="compilation_error")
    number = int(answer["id"])
    runtime.compiled[source] = number
    return runtime, number


def map_docs(sources: Sequence[str], docs: Sequence[Mapping[str, Any]]) -> list[list[list[Any]]]:
    """For each document, for each map function, its ``[key, value]`` pairs."""
    compiled = [compile_function(source) for source in sources]
    runtime = compiled[0][0] if compiled else _runtime()
    if any(r is not runtime for r, _ in compiled):
        return map_docs(sources, docs)  # the runtime was replaced meanwhile: compile again
    ids = json.dumps([number for _, number in compiled])
    out: list[list[list[Any]]] = []
    for start in range(0, len(docs), 256):
        out += _call(runtime, "map", ids, json.dumps(list(docs[start : start + 256])))
    return out


def _raise_thrown(answer: Mapping[str, Any], what: str) -> Any:
    """The ``ok`` value, or the exception the function threw."""
    if "ok" in answer:
        return answer["ok"]
    thrown = answer.get("thrown")
    if isinstance(thrown, Mapping) and len(thrown) == 1:
        (name, message), *_ = thrown.items()
        if name == "forbidden":
            raise Forbidden(str(message), error="forbidden")
        if name == "unauthorized":
            raise Unauthorized(str(message), error="unauthorized")
        raise ServerError(str(message), error="unknown_error")
    if thrown is not None:
        raise ServerError(str(thrown), error="unknown_error")
    raise ServerError(f"{what}: {answer.get('error')}: {answer.get('reason')}", error="js_error")


def reduce_values(source: str, keys: list[list[Any]], values: list[Any], rereduce: bool) -> Any:
    """A JavaScript reduce function's value; ``ServerError`` if it throws."""
    runtime, number = compile_function(source)
    answer = _call(runtime, "reduce", str(number), json.dumps([keys, values, rereduce]))
    return _raise_thrown(answer, "the reduce function failed")


# -- validate_doc_update -----------------------------------------------------

_VDU_CACHE: OrderedDict[tuple[Any, ...], str | None] = OrderedDict()


#: Memory databases' validators, until a write touches a design document (one process
#: holds every writer of a memory store; SQLite files are asked each time).
_MEMORY_VALIDATORS: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def validators(txn: Txn, meta: DbMeta, ids: Sequence[str] = ()) -> list[str]:
    """The ``validate_doc_update`` sources of ``meta``'s design documents, by id, for a
    batch writing ``ids``."""
    in_memory = getattr(txn, "conn", None) is None
    touches_design = any(docid.startswith("_design/") for docid in ids)
    if in_memory:
        with _LOCK:
            cached = _MEMORY_VALIDATORS.get(meta.handle)
            if touches_design:
                _MEMORY_VALIDATORS.pop(meta.handle, None)
        if cached is not None:
            return cached
    found = _scan_validators(txn, meta)
    if in_memory and not touches_design:
        with _LOCK:
            _MEMORY_VALIDATORS[meta.handle] = found
    return found


def _scan_validators(txn: Txn, meta: DbMeta) -> list[str]:
    infos = design_infos(txn, meta)
    found: list[str] = []
    for info in infos:
        key = (meta.name, meta.handle, info.id, info.winner)
        with _LOCK:
            cached = _VDU_CACHE.get(key, False)
        if cached is False:
            body = txn.load_bodies(meta, [(info.id, info.winner)]).get((info.id, info.winner))
            source = json.loads(body).get("validate_doc_update") if body is not None else None
            cached = source if isinstance(source, str) else None
            with _LOCK:
                _VDU_CACHE[key] = cached
                while len(_VDU_CACHE) > 1024:
                    _VDU_CACHE.popitem(last=False)
        if isinstance(cached, str):
            found.append(cached)
    return found


def check_write(
    txn: Txn,
    meta: DbMeta,
    sources: Sequence[str],
    doc: Mapping[str, Any],
    info: DocInfo | None,
    staged: Mapping[str, str],
    *,
    new_edits: bool,
) -> None:
    """Run ``sources`` (:func:`validators`) on one write; raise what one of them throws.

    ``info`` is the document's current state (None when new), ``staged`` the
    revision bodies written earlier in the same batch.
    """
    docid = str(doc["_id"])
    if not sources or docid.startswith(("_design/", "_local/")):
        return
    require_js(f"Writing to {meta.name}, whose design documents have validate_doc_update,")
    old: dict[str, Any] | None = None
    if info is not None:
        rev = _old_rev(doc, info, new_edits=new_edits)
        if rev is not None:
            text = staged.get(rev)
            if text is None:
                text = txn.load_bodies(meta, [(docid, rev)]).get((docid, rev))
            if text is not None:
                old = render(info, rev, text, {})
    user_ctx = _user_ctx(meta.name)
    args = json.dumps([dict(doc), old, user_ctx, meta.security])
    for source in sources:
        runtime, number = compile_function(source)
        answer = _call(runtime, "validate", str(number), args)
        _raise_thrown(answer, "validate_doc_update failed")


def _old_rev(doc: Mapping[str, Any], info: DocInfo, *, new_edits: bool) -> str | None:
    """The revision CouchDB hands ``validate_doc_update`` as ``oldDoc``."""
    tree = info.tree
    if new_edits:
        rev = doc.get("_rev")
        if isinstance(rev, str) and rev in tree:
            return rev
        return info.winner if rev is None and info.deleted else None
    # A replicated revision: the current leaf it extends, if any.
    revisions = doc.get("_revisions")
    if isinstance(revisions, Mapping) and isinstance(revisions.get("ids"), list):
        start = revisions.get("start")
        if isinstance(start, int):
            for i, digest in enumerate(revisions["ids"][1:], start=1):
                rev = f"{start - i}-{digest}"
                if rev in tree and tree.is_leaf(rev):
                    return rev
    return None


# -- _changes filters ----------------------------------------------------------


def changes_filter(
    state: EngineState, db: str, name: str, params: Mapping[str, Any]
) -> Callable[[DocInfo, dict[str, Any] | None], bool]:
    """The ``accept(info, doc)`` test of ``filter=ddoc/name`` (a JavaScript
    ``function (doc, req)``) or ``filter=_view`` with ``view=ddoc/name`` (documents
    the map function emits for); ``NotSupported`` without ``settee[js]``."""
    if name == "_view":
        view = params.get("view")
        if not isinstance(view, str) or "/" not in view:
            raise BadRequest("filter=_view needs view=ddoc/name", error="bad_request")
        ddoc_name, _, fn_name = view.partition("/")
        section = "views"
    else:
        ddoc_name, _, fn_name = name.partition("/")
        section = "filters"
    require_js(f"The _changes filter {name!r}")
    ddoc = get_doc(state, db, f"_design/{ddoc_name}")
    entry = (ddoc.get(section) or {}).get(fn_name)
    source = entry.get("map") if section == "views" and isinstance(entry, Mapping) else entry
    if not isinstance(source, str):
        raise NotFound(
            f"missing {section[:-1]} function {fn_name} in {ddoc['_id']}", error="not_found"
        )
    compile_function(source)
    req = {"query": dict(params), "info": {"db_name": db}, "userCtx": _user_ctx(db)}

    def accept(info: DocInfo, doc: dict[str, Any] | None) -> bool:
        if doc is None:
            return False
        if section == "views":
            return any(map_docs([source], [doc])[0][0])
        runtime, number = compile_function(source)
        answer = _call(runtime, "filter", str(number), json.dumps([doc, req]))
        return bool(_raise_thrown(answer, "the filter function failed"))

    return accept


def _user_ctx(db: str) -> dict[str, Any]:
    return {"db": db, "name": None, "roles": ["_admin"]}
