"""The seeds' REST API, line by line (issue 16): the rows of docs/rest.md's table that no
other module tests, each against the real django-rql service.

The seeds are Connect's two clients (``connect.client.ConnectClient`` and
``cnct.ConnectClient``). Where settee differs on purpose (``auth=`` for
``api_key``, no default endpoint, ``use_specs`` off, ``max_retries=3``), the
test pins settee's behaviour. Requests that reached the server are read from
its own request log (``RqlService.requests()``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import cachetools
import pytest

from settee._doccache import BoundedCache
from settee.auth.schemes import ApiKeyAuth
from settee.errors import NotFound, ServerError, TransportError, Unauthorized
from settee.rest import AsyncClient, Client, SpecValidationError
from tests.rest.conftest import API_KEY, RqlService


def reached(service: RqlService, since: int) -> list[str]:
    """The requests the server received after its ``since``-th."""
    return service.requests()[since:]


# -- the constructor ---------------------------------------------------------------------
def test_a_bare_api_key_string_is_the_auth(rql_service: RqlService) -> None:
    # ConnectClient('ApiKey SU-...') took the key first; settee's second positional is auth=.
    with Client(rql_service.url, API_KEY) as client:
        assert isinstance(client.transport.auth, ApiKeyAuth)
        assert client.products["PRD-000001"].get()["id"] == "PRD-000001"
        assert API_KEY.split(":")[1] not in repr(client)
    with Client(rql_service.url, auth="ApiKey SU-000-000-000:wrong") as wrong:
        with pytest.raises(Unauthorized):
            wrong.products["PRD-000001"].get()


def test_endpoint_is_a_keyword_without_a_default(rql_service: RqlService) -> None:
    with Client(endpoint=rql_service.url, auth=API_KEY) as client:
        assert client.endpoint == rql_service.url
        assert client.products.all().count() > 0
    with pytest.raises(TypeError):
        Client(auth=API_KEY)  # type: ignore[call-arg]  # no Connect URL to fall back on
    with pytest.raises(TypeError):
        AsyncClient(auth=API_KEY)  # type: ignore[call-arg]


def test_use_specs_is_off_by_default_and_nothing_is_sent_at_construction(
    rql_service: RqlService,
) -> None:
    before = len(rql_service.requests())
    with Client(rql_service.url, auth=API_KEY) as client:
        assert client.specs is None and client.specs_location is None
        assert reached(rql_service, before) == []  # no spec download, no probe
        assert "no OpenAPI spec" in client.help()
        client.nothing_known  # noqa: B018  # no spec, so any name is a handle
        assert reached(rql_service, before) == []


def test_max_retries_defaults_to_three(rql_service: RqlService) -> None:
    ok, failing = uuid.uuid4().hex, uuid.uuid4().hex
    with rql_service.client(backoff_factor=0) as client:
        assert client.transport.retry.total == 3
        answer = client.get(f"faults/{ok}", params={"fail": 3, "retry_after": 0})
        assert answer == {"attempts": 4, "method": "GET"}  # 1 + 3 retries
        with pytest.raises(ServerError):
            client.get(f"faults/{failing}", params={"fail": 4, "retry_after": 0})
        assert client.get(f"faults/{failing}/attempts") == {"attempts": 4}


def test_timeout_reaches_the_http_client(rql_service: RqlService) -> None:
    held, quick = uuid.uuid4().hex, uuid.uuid4().hex
    with rql_service.client(timeout=(5, 0.3), max_retries=0) as client:
        with pytest.raises(TransportError, match="timed out"):  # the server holds it 10 s
            client.get(f"faults/{held}", params={"hold": 10})
        # a call's own timeout= wins over the client's
        assert client.get(f"faults/{quick}", params={"hold": 1}, timeout=(5, 60)) == {
            "attempts": 1,
            "method": "GET",
        }


# -- request keywords --------------------------------------------------------------------
def test_request_keywords_are_headers_params_and_timeout(rql_service: RqlService) -> None:
    # Connect forwarded any keyword to requests; settee takes these three and refuses others.
    with Client(rql_service.url) as anonymous:
        with pytest.raises(Unauthorized):
            anonymous.products["PRD-000001"].get()
        product = anonymous.products["PRD-000001"].get(
            headers={"Authorization": API_KEY}, timeout=30
        )
        assert product["id"] == "PRD-000001"
        stats = anonymous.products("stats").get(
            headers={"Authorization": API_KEY}, params={"status": "draft"}
        )
        assert stats["count"] == sum(
            1
            for _ in anonymous.products.all().configure(
                headers={"Authorization": API_KEY}, params={"status": "draft"}
            )
        )
        before = len(rql_service.requests())
        for call in (
            lambda: anonymous.products["PRD-000001"].get(verify=False),
            lambda: anonymous.products["PRD-000001"].update({"name": "x"}, stream=True),
            lambda: anonymous.products["PRD-000001"].delete(allow_redirects=False),
            lambda: anonymous.products.create({"name": "x"}, cert="c.pem"),
            lambda: anonymous.get("products", proxies={}),
        ):
            with pytest.raises(TypeError, match="headers=, params= and timeout="):
                call()
        assert reached(rql_service, before) == []


# -- names at every level --------------------------------------------------------------------
def _name_calls(client: Any) -> dict[str, Callable[[Any], object]]:
    """Every seed call that takes a name, at every level of the tree."""
    ns = client.ns("catalog")
    products = client.products
    resource = products["PRD-000001"]
    return {
        "client.collection": client.collection,
        "client.ns": client.ns,
        "client(name)": client,
        "ns.collection": ns.collection,
        "ns.ns": ns.ns,
        "ns(name)": ns,
        "collection.action": products.action,
        "collection(name)": products,
        "resource.action": resource.action,
        "resource(name)": resource,
        "resource.collection": resource.collection,
    }


_NOT_STR = [3, None, b"products", ("a",)]
_BLANK = ["", "   ", "\t"]


def _check_names(client: Any) -> None:
    for where, call in _name_calls(client).items():
        for bad in _NOT_STR:
            with pytest.raises(TypeError):
                call(bad)
                pytest.fail(f"{where}({bad!r}) was accepted")
        for blank in _BLANK:
            with pytest.raises(ValueError):
                call(blank)
                pytest.fail(f"{where}({blank!r}) was accepted")
    products = client.products
    for bad_id in (None, 1.5, True, ["PRD-1"], {"id": 1}):
        with pytest.raises(TypeError):
            products.resource(bad_id)
        with pytest.raises(TypeError):
            products[bad_id]
    with pytest.raises(ValueError):
        products.resource("")


def test_names_are_checked_at_every_level(rql_service: RqlService) -> None:
    before = len(rql_service.requests())
    with rql_service.client() as client:
        _check_names(client)
    assert reached(rql_service, before) == []


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_names_are_checked_at_every_level(rql_service: RqlService) -> None:
    before = len(rql_service.requests())
    async with await AsyncClient.open(rql_service.url, API_KEY) as client:
        assert isinstance(client.transport.auth, ApiKeyAuth)  # the bare string, async too
        assert "s3cret" not in repr(client) and rql_service.url in repr(client)
        _check_names(client)
    assert reached(rql_service, before) == []


def _unknown_names(client: Any) -> list[tuple[str, Callable[[], object]]]:
    ns = client("catalog")
    resource = client.products["PRD-000001"]
    return [
        ("/public/v1/nope", lambda: client.collection("nope")),
        ("/public/v1/nope", lambda: client.nope),
        ("/public/v1/nope", lambda: client.ns("nope")),
        ("/public/v1/nope", lambda: client("nope")),
        ("/public/v1/catalog/nope", lambda: ns.collection("nope")),
        ("/public/v1/catalog/nope", lambda: ns.nope),
        ("/public/v1/catalog/nope", lambda: ns.ns("nope")),
        ("/public/v1/products/PRD-000001/nope", lambda: resource.action("nope")),
        ("/public/v1/products/PRD-000001/nope", lambda: resource("nope")),
        ("/public/v1/products/PRD-000001/nope", lambda: resource.collection("nope")),
        ("/public/v1/products/PRD-000001/nope", lambda: resource.nope),
        ("/public/v1/products/PRD-000001/items/7/nope", lambda: resource.items[7].nope),
    ]


def test_names_the_spec_lacks_are_refused_at_every_level(rql_service: RqlService) -> None:
    # cnct raised NotFoundError here; settee's SpecValidationError is a ValueError.
    url = rql_service.url + "/openapi.json"
    with rql_service.client(use_specs=True, specs_location=url) as client:
        before = len(rql_service.requests())
        for path, call in _unknown_names(client):
            with pytest.raises(SpecValidationError) as caught:
                call()
            assert caught.value.operation == path and caught.value.field == "path"
        # the names the spec has still go through
        assert client("catalog")("archive").products.all().count() > 0
        assert len(reached(rql_service, before)) == 1


# -- int ids -------------------------------------------------------------------------------
def test_int_resource_ids_reach_the_server(rql_service: RqlService) -> None:
    with rql_service.client() as client:
        items = client.products["PRD-000002"].items
        listed = list(items.all())
        assert listed and all(isinstance(i["id"], int) for i in listed)
        n = listed[0]["id"]
        assert items[n].url == items.url + f"/{n}" == items.resource(n).url
        assert items[n].get() == listed[0]
        assert items.resource(n).exists()
        assert items.get(n) == listed[0]  # cached by the GET, under the int's URL
        assert items.get(str(n)) == listed[0]  # "7" and 7 are the same URL
        assert n in items and str(n) in items
        assert items.get(999_999, "absent", remote=True) == "absent"
        assert 999_999 not in items
        with pytest.raises(NotFound):
            items[999_999].get()
    spec = rql_service.url + "/openapi.json"
    with rql_service.client(use_specs=True, specs_location=spec) as checked:
        assert checked.products["PRD-000002"].items[n].get()["id"] == n  # the spec's integer


# -- the cache's ttl ---------------------------------------------------------------------------
def test_cache_ttl_ages_collection_entries_out(rql_service: RqlService) -> None:
    now = [1000.0]
    with rql_service.client(cache_ttl=30) as client:
        assert client.cache_ttl == 30
        assert isinstance(client.cache._cache, cachetools.TTLCache)  # the option's cache
        assert client.cache._cache.ttl == 30
        # The same cache on a clock the test moves (no sleeping, no timing).
        client.cache = BoundedCache(client.cache_size, client.cache_ttl, timer=lambda: now[0])
        products = client.products
        body = products.get("PRD-000005", remote=True)
        assert body["id"] == "PRD-000005"
        now[0] += 29
        before = len(rql_service.requests())
        assert products.get("PRD-000005") == body
        assert "PRD-000005" in products  # from the cache: no request
        assert products.keys() == ["PRD-000005"]
        assert reached(rql_service, before) == []
        now[0] += 2  # 31 s after it was cached
        assert products.get("PRD-000005") is None
        assert products.keys() == []
        assert len(client.cache) == 0
        assert reached(rql_service, before) == []
        assert "PRD-000005" in products  # expired: the server is asked again
        assert reached(rql_service, before) == ["GET /public/v1/products/PRD-000005"]
        assert products.get("PRD-000005") == body  # and the answer cached anew
        now[0] += 31
        assert products["PRD-000005"].body == body  # a miss again: one more GET
        assert len(reached(rql_service, before)) == 2
