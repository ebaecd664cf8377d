"""Server-provided page links (``next``) and redirects never take credentials elsewhere.

``get_all()``/``iter_all()`` follow a DRF envelope's ``next`` only within the
origin (scheme, host, port) of the URL they were called on; a link to any
other origin raises ``TransportError`` naming that origin before anything is
sent there, and a link already followed raises instead of looping.

The real django-rql service shows that its own (same-origin) links keep
working. No real server sends a crafted ``next``, so the other tests use two
small loopback fakes (tests/http/fakes.py): an API that answers the crafted
pages (and, for OAuth2, is its own token endpoint), and an "other host" on a
second port that records every request it gets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from settee.auth.oauth2 import OAuth2ClientCredentials
from settee.auth.schemes import ApiKeyAuth, BasicAuth, BearerAuth
from settee.errors import SetteeError, TransportError
from settee.rest.client import Client, CrudClient
from tests.http.fakes import FakeServer, Recorded, Reply
from tests.rest.conftest import API_KEY, SEEDED_PRODUCTS, RqlService

# A crafted loop is answered this many times at most, then ends, so that a
# client that does not detect it fails the test instead of hanging.
LOOP_BOUND = 25


@pytest.fixture
def other() -> Iterator[FakeServer]:
    """The "other host": records every request; answers an empty last page."""
    with FakeServer(lambda req: Reply.json(200, {"results": [], "next": None})) as server:
        yield server


def _api_handler(other_url: str) -> Callable[[Recorded], Reply]:
    state = {"loop": 0}

    def handle(req: Recorded) -> Reply:
        me = f"http://{req.headers.get('Host')}"
        route = req.route
        if req.method == "POST" and route == "/token":
            return Reply.json(
                200, {"access_token": "tok-123", "token_type": "bearer", "expires_in": 3600}
            )
        pages: dict[str, tuple[list[Any], Any]] = {
            "/api/foreign/": ([1, 2], other_url + "/steal?offset=2"),
            "/api/foreign-https/": ([1], "https://" + me[len("http://") :] + "/api/x/"),
            "/api/foreign-name/": ([1], me.replace("127.0.0.1", "localhost") + "/api/last/"),
            "/api/userinfo/": ([1], me.replace("://", "://eve:pw@") + "/api/last/"),
            "/api/scheme/": ([1], "file:///etc/passwd"),
            "/api/not-a-str/": ([1], {"href": "/api/last/"}),
            "/api/relative/": ([1], "?page=2"),
            "/api/last/": ([3], None),
        }
        if route == "/api/relative/" and req.query.get("page") == ["2"]:
            return Reply.json(200, {"results": [2], "next": "/api/last/"})
        if route in ("/api/self/", "/api/cycle-a/", "/api/cycle-b/"):
            state["loop"] += 1
            if state["loop"] > LOOP_BOUND:
                return Reply.json(200, {"results": [], "next": None})
            target = {"/api/self/": req.path, "/api/cycle-a/": "/api/cycle-b/"}.get(
                route, "/api/cycle-a/?x=1"
            )
            return Reply.json(200, {"results": [state["loop"]], "next": me + target})
        if route == "/api/redirect/":
            return Reply(302, b"", {"Location": other_url + "/steal"})
        if route in pages:
            results, next_link = pages[route]
            return Reply.json(200, {"results": results, "next": next_link})
        return Reply.json(404, {"detail": "not found"})

    return handle


@pytest.fixture
def api(other: FakeServer) -> Iterator[FakeServer]:
    with FakeServer(_api_handler(other.url)) as server:
        yield server


AUTHS: dict[str, Callable[[str], Any]] = {
    "apikey": lambda url: ApiKeyAuth("ApiKey SU-1:secret"),
    "apikey-header": lambda url: ApiKeyAuth("secret", header="X-Api-Key"),
    "bearer": lambda url: BearerAuth("bearer-secret"),
    "basic": lambda url: BasicAuth("ann", "pw"),
    "oauth2": lambda url: OAuth2ClientCredentials(url + "/token", "cid", "csecret"),
}
CREDENTIAL_HEADERS = ("authorization", "x-api-key")


def _credentials(req: Recorded) -> list[str]:
    return [k for k in req.headers if k.lower() in CREDENTIAL_HEADERS]


@pytest.mark.parametrize("kind", sorted(AUTHS))
def test_a_next_link_to_another_host_is_refused_and_nothing_is_sent_there(
    api: FakeServer, other: FakeServer, kind: str
) -> None:
    """Fake API + fake other host: the API's ``next`` names the other host.

    Before the fix the other host received ``GET /steal`` with the credential.
    """
    with CrudClient(api.url + "/api", auth=AUTHS[kind](api.url), backoff_factor=0) as crud:
        with pytest.raises(TransportError, match="another origin") as caught:
            crud.get_all("foreign/")
        message = str(caught.value)
        assert other.url in message
        assert "steal" not in message  # the origin is named, not the whole link
        assert caught.value.method == "GET"
    assert other.requests == []
    first = api.seen("GET", "/api/foreign/")
    assert first and _credentials(first[0])  # the API itself did get the credential


@pytest.mark.parametrize(
    "route", ["foreign-https/", "foreign-name/", "userinfo/", "scheme/", "not-a-str/"]
)
def test_other_schemes_ports_userinfo_and_non_string_links_are_refused(
    api: FakeServer, other: FakeServer, route: str
) -> None:
    """Fake API: ``next`` on the same host over https, under another name, with
    userinfo (it would replace the credentials), with another scheme, or not a
    string. Before the fix each was requested (or crashed on ``str()`` of a dict)."""
    with CrudClient(api.url + "/api", auth=BearerAuth("secret"), backoff_factor=0) as crud:
        with pytest.raises(TransportError, match="next"):
            crud.get_all(route)
    assert len(api.requests) == 1
    assert other.requests == []


def test_iterating_yields_the_pages_before_the_refused_link(api: FakeServer) -> None:
    """Fake API: the items of the pages already fetched are yielded, then the error."""
    with CrudClient(api.url + "/api", auth=BearerAuth("secret"), backoff_factor=0) as crud:
        seen: list[Any] = []
        with pytest.raises(TransportError):
            for item in crud.client.crud("foreign/").iter_all():
                seen.append(item)
    assert seen == [1, 2]


@pytest.mark.parametrize("route", ["self/", "cycle-a/"])
def test_a_next_link_already_followed_raises_instead_of_looping(
    api: FakeServer, route: str
) -> None:
    """Fake API: ``next`` names the page itself, or two pages name each other.

    Before the fix the client kept requesting until the fake's bound ended the
    loop (``LOOP_BOUND`` requests); now it stops at the first repeat."""
    with CrudClient(api.url + "/api", auth=BearerAuth("secret"), backoff_factor=0) as crud:
        with pytest.raises(TransportError, match="already followed"):
            crud.get_all(route)
    assert len(api.requests) == (1 if route == "self/" else 3)


def test_relative_and_same_origin_links_are_followed(api: FakeServer, other: FakeServer) -> None:
    """Fake API: a relative ``?page=2`` resolves against the page that carried it,
    then an absolute-path ``/api/last/``; every page carries the credential."""
    with CrudClient(api.url + "/api", auth=ApiKeyAuth("secret"), backoff_factor=0) as crud:
        assert crud.get_all("relative/") == [1, 2, 3]
    assert [r.path for r in api.requests] == [
        "/api/relative/",
        "/api/relative/?page=2",
        "/api/last/",
    ]
    assert all(r.headers.get("Authorization") == "secret" for r in api.requests)
    assert other.requests == []


def test_a_redirect_to_another_host_is_not_followed(api: FakeServer, other: FakeServer) -> None:
    """Fake API answering ``302 Location: <other host>``: the transport never
    follows redirects, so the REST layer raises and the other host sees nothing."""
    with Client(api.url + "/api", auth=BearerAuth("secret"), max_retries=0) as client:
        with pytest.raises(SetteeError):
            client.get("redirect/")
        with CrudClient(api.url + "/api", auth=BearerAuth("s"), backoff_factor=0) as crud:
            with pytest.raises(SetteeError):
                crud.get_all("redirect/")
    assert other.requests == []


def test_the_real_service_s_own_next_links_are_followed(rql_service: RqlService) -> None:
    """The django-rql service's DRF envelope: absolute same-origin links, all followed."""
    with CrudClient(rql_service.api_url, auth=API_KEY, backoff_factor=0) as crud:
        everything = crud.get_all("products/", {"limit": 100})
        assert len(everything) == SEEDED_PRODUCTS
        assert crud.response is not None and "offset=300" in crud.response.url
