"""URL safety without a network: every request path addresses exactly its resource.

The HTTP backend and the REST client are driven with an adapter that records
each prepared request and answers a canned ``{}``: no server is involved, the
test reads the request line settee would have sent. A small model of
CouchDB's router (the first ``_design/``/``_local/`` prefix of a document id
is the only slash a path keeps; every segment is percent-decoded once) turns
each path back into the resource it addresses, and hypothesis checks that it
is the one that was asked for, over generated ids and names.

Also here: credentials in a URL's userinfo (passwords holding ``#``, ``?``
or ``/``) and secret query values never shown by ``split_credentials``,
``redact_url``, the text redaction and the urllib3 log filter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from settee import rest
from settee.backends.http.backend import HTTPBackend
from settee.urls import (
    doc_id_segments,
    quote_doc_id,
    quote_segment,
    redact_text,
    redact_url,
    split_credentials,
)

BASE = "http://127.0.0.1:9"


class Recorder(HTTPAdapter):
    """Records each prepared request and answers ``200 {}`` (``GET /``: a CouchDB welcome)."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = 200
        response.headers["Content-Type"] = "application/json"
        path = urlsplit(request.url or "").path
        if path == "/":
            body: dict[str, Any] = {"couchdb": "Welcome"}
        else:
            # Answer as the addressed document, so answer checks pass.
            docid = route(path)[2] if path.count("/") >= 2 else ""
            body = {"ok": True, "_id": docid, "id": docid, "_rev": "1-a", "rev": "1-a"}
        response._content = json.dumps(body).encode()
        response.url = request.url or ""
        response.request = request
        return response

    def paths(self) -> list[str]:
        """The raw (still encoded) path of each request, the capability probe left out."""
        return [p for p in (urlsplit(r.url or "").path for r in self.sent) if p != "/"]


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def backend(recorder: Recorder) -> Iterator[HTTPBackend]:
    b = HTTPBackend(BASE, adapter=recorder)
    yield b
    b.close()


def route(path: str) -> tuple[str, ...]:
    """What CouchDB's router makes of an encoded ``path`` (``/db/...``)."""
    raw = path.split("/")[1:]
    assert all(s not in (".", "..") for s in raw), f"dot segment in {path!r}"
    segs = [unquote(s) for s in raw]
    db, rest = segs[0], segs[1:]
    if rest[:1] == ["_index"] and len(rest) == 4:
        return ("index", db, rest[1], rest[2], rest[3])
    if rest[0] in ("_design", "_local") and len(rest) >= 2:
        docid, tail = f"{rest[0]}/{rest[1]}", rest[2:]
    else:
        docid, tail = rest[0], rest[1:]
    if not tail:
        return ("doc", db, docid)
    if docid.startswith("_design/") and len(tail) == 2 and tail[0] == "_view":
        return ("view", db, docid, tail[1])
    # CouchDB joins what is left into the attachment name: a raw slash here
    # would still name the same attachment, but only one segment is expected.
    if len(tail) == 1:
        return ("attachment", db, docid, tail[0])
    return ("other", db, docid, *tail)


# Names from an alphabet rich in the characters that matter for URLs.
_ALPHABET = st.sampled_from([*"ab/_.?#%&=+;@: \\~é☃", "_design/", "_local/", "..", "%2F"])
names = st.lists(_ALPHABET, min_size=1, max_size=8).map("".join)
plain_ids = names.filter(lambda s: not s.startswith("_"))
doc_ids = st.one_of(
    plain_ids,
    st.tuples(st.sampled_from(["_design/", "_local/"]), names).map("".join),
)
db_names = st.sampled_from(["db", "a/b", "a$b", "x(1)+y-z"])

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _last(recorder: Recorder) -> tuple[str, ...]:
    return route(recorder.paths()[-1])


# -- the encoding functions -----------------------------------------------------------
@given(names)
def test_quote_segment_encodes_every_slash_and_dot_segment(name: str) -> None:
    quoted = quote_segment(name)
    assert "/" not in quoted and "?" not in quoted and "#" not in quoted
    assert quoted not in (".", "..")
    assert unquote(quoted) == name


@given(doc_ids)
def test_quote_doc_id_keeps_only_the_first_prefix(docid: str) -> None:
    quoted = quote_doc_id(docid)
    segs = quoted.split("/")
    if docid.startswith(("_design/", "_local/")):
        assert len(segs) == 2 and segs[0] in ("_design", "_local")
    else:
        assert len(segs) == 1
    assert "/".join(unquote(s) for s in segs) == docid
    assert tuple(unquote(s) for s in segs) == doc_id_segments(docid)


@pytest.mark.parametrize(
    ("docid", "expected"),
    [
        ("_design/_local/x", "_design/_local%2Fx"),
        ("_design/_design/x", "_design/_design%2Fx"),
        ("_local/_design/x", "_local/_design%2Fx"),
        ("_local/a/b", "_local/a%2Fb"),
        ("a/_design/b", "a%2F_design%2Fb"),
        ("_design/..", "_design/%2E%2E"),
        ("..", "%2E%2E"),
        ("_design/", "_design%2F"),
    ],
)
def test_quote_doc_id_examples(docid: str, expected: str) -> None:
    assert quote_doc_id(docid) == expected


def test_quote_segment_never_keeps_a_prefix() -> None:
    assert quote_segment("_design/admin") == "_design%2Fadmin"
    assert quote_segment("_local/secret") == "_local%2Fsecret"
    with pytest.raises(TypeError):
        quote_segment(5)  # type: ignore[arg-type]


# -- what the HTTP backend sends -------------------------------------------------------
@_SETTINGS
@given(db_names, doc_ids)
def test_document_requests_address_exactly_the_document(
    backend: HTTPBackend, recorder: Recorder, db: str, docid: str
) -> None:
    backend.get_doc(db, docid)
    assert _last(recorder) == ("doc", db, docid)
    backend.put_doc(db, {"_id": docid, "_rev": "1-a"})
    assert _last(recorder) == ("doc", db, docid)
    backend.delete_doc(db, docid, "1-a")
    assert _last(recorder) == ("doc", db, docid)


@_SETTINGS
@given(doc_ids, names)
def test_attachment_requests_address_exactly_the_attachment(
    backend: HTTPBackend, recorder: Recorder, docid: str, name: str
) -> None:
    expected = ("attachment", "db", docid, name)
    backend.put_attachment("db", docid, name, b"x", "text/plain", rev=None)
    assert _last(recorder) == expected
    backend.get_attachment("db", docid, name)
    assert _last(recorder) == expected
    backend.delete_attachment("db", docid, name, rev="1-a")
    assert _last(recorder) == expected


ddoc_names = names.filter(lambda s: not s.startswith("_design/"))


@_SETTINGS
@given(ddoc_names, names)
def test_view_and_index_requests_address_exactly_their_resource(
    backend: HTTPBackend, recorder: Recorder, ddoc: str, name: str
) -> None:
    backend.view("db", ddoc, name)
    assert _last(recorder) == ("view", "db", f"_design/{ddoc}", name)
    backend.view("db", f"_design/{ddoc}", name)
    assert _last(recorder) == ("view", "db", f"_design/{ddoc}", name)
    backend.delete_index("db", ddoc, name, index_type=name)
    assert _last(recorder) == ("index", "db", f"_design/{ddoc}", name, name)


def test_the_ids_of_the_report_address_their_document(
    backend: HTTPBackend, recorder: Recorder
) -> None:
    for docid in ("_design/_local/x", "_design/_design/x", "_local/_design/x", "_local/a/b"):
        backend.put_doc("db", {"_id": docid})
        assert _last(recorder) == ("doc", "db", docid)
    backend.put_attachment("db", "d", "_design/x", b"x", "text/plain", rev=None)
    assert recorder.paths()[-1] == "/db/d/_design%2Fx"


# -- what the REST client sends --------------------------------------------------------
rest_names = names.filter(lambda s: bool(s.strip()))


@_SETTINGS
@given(rest_names, rest_names)
def test_rest_ids_and_actions_are_one_segment(rid: str, name: str) -> None:
    client = rest.Client(BASE + "/public/v1")
    try:
        resource = client.products[rid]
        segs = urlsplit(resource.url).path.split("/")
        assert segs[:4] == ["", "public", "v1", "products"] and len(segs) == 5
        assert unquote(segs[4]) == rid and segs[4] not in (".", "..")
        action = urlsplit(resource.action(name).url).path.split("/")
        assert action[:5] == segs and len(action) == 6
        assert unquote(action[5]) == name and action[5] not in (".", "..")
    finally:
        client.close()


def test_rest_prefixes_are_encoded() -> None:
    client = rest.Client(BASE + "/public/v1")
    try:
        assert client.products["_design/admin"].url.endswith("/products/_design%2Fadmin")
        users = client.collection("users")
        assert (
            users["_local/secret"].action("approve").url.endswith("/users/_local%2Fsecret/approve")
        )
        assert users["x"].action("a/b").url.endswith("/users/x/a%2Fb")
    finally:
        client.close()


# -- credentials in the userinfo ---------------------------------------------------------
PASSWORDS = ["p#secret", "p?secret", "p/secret", "p@secret", "p:secret", "p%secret", "p#?/@s"]


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize(
    ("host", "tail"),
    [
        ("host", ""),
        ("host:5984", "/"),
        ("127.0.0.1:5984", "/prefix/couch"),
        ("[::1]:5984", "?x=1"),
        ("example.com", "#frag"),
    ],
)
def test_split_credentials_takes_a_raw_password_whole(password: str, host: str, tail: str) -> None:
    url = f"http://admin:{password}@{host}{tail}"
    clean, creds = split_credentials(url)
    assert creds == ("admin", password)
    assert clean == f"http://{host}{tail}".rstrip("/")
    assert "secret" not in redact_url(url) and "admin" not in redact_url(url)
    assert "secret" not in redact_text(f"failed: {url} (x)")


def test_split_credentials_keeps_urls_without_userinfo() -> None:
    assert split_credentials("http://host:5984/") == ("http://host:5984", None)
    # An "@" in the path is not userinfo when the authority is a valid host.
    assert split_credentials("http://host:5984/db/a@b.com") == (
        "http://host:5984/db/a@b.com",
        None,
    )
    assert split_credentials("http://u:p%40w@host") == ("http://host", ("u", "p@w"))
    assert split_credentials("http://u@host") == ("http://host", ("u", ""))


# -- secret query values -----------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["token", "apikey", "api_key", "password", "access_token", "client_secret", "X-Api-Key"]
)
def test_secret_query_values_are_masked(name: str) -> None:
    url = f"http://h/db?limit=1&{name}=SECRET&b=2"
    assert "SECRET" not in redact_url(url)
    assert "limit=1" in redact_url(url) and "b=2" in redact_url(url)
    text = f"Max retries exceeded with url: /db?{name}=SECRET (Caused by x)"
    assert "SECRET" not in redact_text(text)
    assert "SECRET" not in redact_text(f"url='/db?a=1&{name}=SECRET'")


def test_query_values_that_are_not_secrets_stay() -> None:
    assert redact_url("http://h/db?key=%22a%22&startkey=1") == "http://h/db?key=%22a%22&startkey=1"


def test_urllib3_log_lines_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    """urllib3's retry logger formats the URL inside a repr: the filter masks any text."""
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3.util.retry", "urllib3.connectionpool"):
        log = logging.getLogger(name)
        log.debug("Incremented Retry for (url='%s'): %r", "/db?token=SECRET", ("x",))
        log.debug("Retrying (%r) after %r: %s", "Retry(total=2)", "err", "/db?apikey=SECRET")
        log.debug("preformatted /db?access_token=SECRET line")
    assert len(caplog.records) == 6
    for record in caplog.records:
        assert "SECRET" not in record.getMessage()
        assert "SECRET" not in repr(record.args) and "SECRET" not in str(record.msg)
