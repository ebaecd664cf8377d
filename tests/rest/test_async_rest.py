"""The async REST client (issue 14 item 2) against the real django-rql service.

``settee.rest.AsyncClient`` runs the same navigation, request building, paging
plans, spec checks and answer parsing as the sync client; these tests run the
REST suite's main paths through it on asyncio (anyio's pytest plugin) and
check that both clients answer alike.

The 50 ms loop-blocking check is tests/aio's (the transport); it is not
applied here, where the service shares the machine's cores with the test
process: a wall-clock step time then measures the scheduler, not the code.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from settee.errors import BadRequest, DocumentNotFound, NotFound
from settee.rest import (
    AsyncAction,
    AsyncClient,
    AsyncCollection,
    AsyncNS,
    AsyncResource,
    AsyncResourceSet,
    Client,
    SpecValidationError,
)
from settee.rql import R
from tests.rest.conftest import API_KEY, SEEDED_PRODUCTS, RqlService

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Requests(logging.Handler):
    """The transport's request log lines (one per HTTP request sent)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _logger(handler: Requests) -> logging.Logger:
    log = logging.getLogger(f"test.rest.async.{uuid.uuid4().hex}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    return log


async def open_client(service: RqlService, **options: Any) -> tuple[AsyncClient, Requests]:
    handler = Requests()
    options.setdefault("auth", API_KEY)
    client = await AsyncClient.open(service.url, logger=_logger(handler), **options)
    handler.lines.clear()  # a spec download, if any
    return client, handler


@pytest.fixture
async def ro(rql_service: RqlService) -> AsyncIterator[tuple[AsyncClient, Requests]]:
    client, sent = await open_client(rql_service)
    async with client:
        yield client, sent


@pytest.fixture
async def rw(rql_rw_service: RqlService) -> AsyncIterator[tuple[AsyncClient, Requests]]:
    client, sent = await open_client(rql_rw_service)
    async with client:
        yield client, sent


def _product(**extra: Any) -> dict[str, Any]:
    body = {
        "name": f"async {uuid.uuid4().hex[:8]}",
        "vendor_id": "VA-0003",
        "category": "cloud",
        "status": "draft",
        "price": 3.5,
        "quantity": 2,
    }
    body.update(extra)
    return body


# -- the fluent client --------------------------------------------------------------
async def test_navigation_builds_the_same_urls(ro: tuple[AsyncClient, Requests]) -> None:
    client, sent = ro
    base = client.endpoint
    assert isinstance(client.products, AsyncCollection)
    assert isinstance(client("catalog"), AsyncNS)
    assert client("catalog")("archive").products.url == base + "/catalog/archive/products"
    res = client.products["PRD-000001"]
    assert isinstance(res, AsyncResource) and res.url == base + "/products/PRD-000001"
    assert isinstance(res("endsale"), AsyncAction)
    assert res.items.url == res.url + "/items"
    assert isinstance(client.products.filter(status="draft"), AsyncResourceSet)
    assert client.products["a/b?c#d"].url == base + "/products/a%2Fb%3Fc%23d"
    assert sent.lines == []


async def test_resource_get_exists_values(ro: tuple[AsyncClient, Requests]) -> None:
    client, _ = ro
    product = await client.products["PRD-000001"].get()
    assert product["id"] == "PRD-000001" and product["name"] == "Widget, large"
    assert await client.products["PRD-000001"].exists()
    assert not await client.products["PRD-999999"].exists()
    values = await client.products["PRD-000002"].values("id", "vendor.id")
    assert values["id"] == "PRD-000002" and values["vendor.id"].startswith("VA-")
    with pytest.raises(NotFound):
        await client.products["PRD-999999"].get()
    assert client.response is not None and client.response.status_code == 404
    assert (await client("catalog").products["PRD-000003"].get())["id"] == "PRD-000003"
    assert (await client.get("products/PRD-000004"))["id"] == "PRD-000004"


async def test_async_for_pages_every_record_with_content_range(
    rql_service: RqlService,
) -> None:
    client, sent = await open_client(rql_service, default_limit=50)
    async with client:
        ids = [p["id"] async for p in client.products.all()]
        assert len(ids) == SEEDED_PRODUCTS and ids == sorted(ids)
        assert len(sent.lines) == -(-SEEDED_PRODUCTS // 50)
        assert all("limit=50" in line for line in sent.lines)
        sent.lines.clear()
        walk = client.products.all().__aiter__()
        for _ in range(50):
            await walk.__anext__()
        assert len(sent.lines) == 1  # one page held at a time
        await walk.aclose()


async def test_filters_count_first_index_slices(ro: tuple[AsyncClient, Requests]) -> None:
    client, sent = ro
    published = client.products.filter(R().status.eq("published")).order_by("-price")
    total = await published.count()
    assert 0 < total < SEEDED_PRODUCTS
    assert len(sent.lines) == 1 and "limit=0" in sent.lines[0]
    first = await published.first()
    assert first["status"] == "published"
    items = [p async for p in published.limit(37)]
    assert len(items) == total
    assert [p["price"] for p in items] == sorted((p["price"] for p in items), reverse=True)
    assert (await published[0])["id"] == first["id"]
    assert (await published[-1])["id"] == items[-1]["id"]
    window = [p["id"] async for p in published[5:15]]
    assert window == [p["id"] for p in items[5:15]]
    with pytest.raises(IndexError):
        await published[total + 5]
    assert await client.products.filter(id="PRD-999999").first() is None
    assert not await client.products.filter(id="PRD-999999").exists()
    values = await client.products.filter(id="PRD-000007").values_list("id", "vendor.id")
    assert values[0]["id"] == "PRD-000007"
    searched = [p async for p in client.products.all().search("rocket")]
    assert [p["id"] for p in searched] == ["PRD-000018"]


async def test_collection_action(ro: tuple[AsyncClient, Requests]) -> None:
    client, _ = ro
    stats = await client.products("stats").get()
    assert stats["count"] == SEEDED_PRODUCTS
    state = await client.products["PRD-000005"]("endsale").get()
    assert state["id"] == "PRD-000005"


async def test_create_update_delete_actions_and_bulk(rw: tuple[AsyncClient, Requests]) -> None:
    client, _ = rw
    created = await client.products.create(_product())
    pid = created["id"]
    assert (await client.products.get(pid))["name"] == created["name"]  # cached by create()
    updated = await client.products[pid].update({"quantity": 7})
    assert updated["quantity"] == 7 and updated["name"] == created["name"]
    ended = await client.products[pid]("endsale").post({"end_of_sale_notes": "old"})
    assert ended["status"] == "endofsale" and ended["notes"] == "old"
    with pytest.raises(BadRequest) as info:
        await client.products[pid]("endsale").post()
    assert info.value.error_code == "VAL_001"
    assert await client.products[pid]("endsale").delete() is None
    assert (await client.products[pid].get())["status"] == "published"
    await client.products[pid].delete()
    assert not await client.products.contains(pid)

    made = await client.products.bulk_create([_product(), _product()])
    ids = [m["id"] for m in made]
    changed = await client.products.bulk_update([{"id": i, "quantity": 42} for i in ids])
    assert [c["quantity"] for c in changed] == [42, 42]
    assert await client.products.bulk_delete([{"id": i} for i in ids]) is None
    for i in ids:
        assert not await client.products[i].exists()


async def test_raw_crud_verbs(rw: tuple[AsyncClient, Requests]) -> None:
    client, _ = rw
    created = await client.create("products", _product())
    assert (await client.update(f"products/{created['id']}", {"quantity": 11}))["quantity"] == 11
    assert await client.delete(f"products/{created['id']}") is None
    with pytest.raises(TypeError, match="unexpected keyword"):
        await client.get("products", verify=False)


async def test_the_mapping_view(rw: tuple[AsyncClient, Requests]) -> None:
    client, sent = rw
    products = client.products
    assert await products.get("PRD-000010") is None
    assert sent.lines == []
    body = await products.get("PRD-000010", remote=True)
    assert body["id"] == "PRD-000010" and await products.get("PRD-000010") == body
    assert await products.contains("PRD-000010")
    assert len(sent.lines) == 1  # answered from the cache
    assert not await products.contains("PRD-999999")
    assert await products.get("PRD-999999", "gone", remote=True) == "gone"
    assert products.keys() == ["PRD-000010"]
    assert await products["PRD-000010"].body() == body
    with pytest.raises(DocumentNotFound):
        await products["PRD-999999"].body()
    new_id = f"AMAP-{uuid.uuid4().hex[:8].upper()}"
    assert (await products.put(new_id, _product()))["id"] == new_id  # created
    assert (await products.put(new_id, {"name": "renamed"}))["name"] == "renamed"  # updated
    assert (await products.get(new_id))["name"] == "renamed"
    assert products.forget(new_id) and await products.get(new_id) is None
    await products[new_id].delete()
    assert not await products.contains(new_id)
    assert await products.count() == len([p async for p in products])


async def test_async_crud_endpoint_on_the_drf_side(rql_rw_service: RqlService) -> None:
    async with await AsyncClient.open(rql_rw_service.api_url, auth=API_KEY) as client:
        api = client.crud("products/")
        created = await api.create(_product())
        one = api / created["id"]
        assert (await one.read())["id"] == created["id"]
        assert (await one.update({"quantity": 9}))["quantity"] == 9  # PATCH
        assert client.response is not None and client.response.request.method == "PATCH"
        assert (await one.partial_update({"weight": 2.5}))["weight"] == 2.5
        head = await one.head()
        assert head.status == 200 and head.headers["Content-Type"].startswith("application/json")
        everything = await api.get_all({"limit": 100})  # follows DRF's `next` links
        assert len(everything) == (await api.list())["count"]
        assert created["id"] in {p["id"] for p in everything}
        assert await one.delete() == b""
        with pytest.raises(NotFound):
            await one.read()
        upload = await (api / "PRD-000001" / "attachments").create(
            {"note": "hi"}, files={"file": ("a.bin", b"\x00\x01", "application/octet-stream")}
        )
        assert upload["sha256"] == hashlib.sha256(b"\x00\x01").hexdigest()


async def test_async_get_all_follows_content_range(rql_service: RqlService) -> None:
    async with await AsyncClient.open(rql_service.url, auth=API_KEY) as client:
        got = await client.crud("products").get_all({"limit": 64})
        assert [p["id"] for p in got] == [f"PRD-{n:06d}" for n in range(1, SEEDED_PRODUCTS + 1)]


async def test_sync_and_async_clients_answer_alike(rql_service: RqlService) -> None:
    query = R().price.gt(500) & R().category.in_(("cloud", "software"))
    with Client(rql_service.url, auth=API_KEY, default_limit=30) as sync:
        expected = list(sync.products.filter(query).order_by("name").select("-description"))
        expected_count = sync.products.filter(query).count()
    async with await AsyncClient.open(rql_service.url, auth=API_KEY, default_limit=30) as client:
        got = [
            p async for p in client.products.filter(query).order_by("name").select("-description")
        ]
        assert got == expected
        assert await client.products.filter(query).count() == expected_count


async def test_resourceset_append_replays_without_requests(rql_service: RqlService) -> None:
    client, sent = await open_client(rql_service, resourceset_append=True, default_limit=100)
    async with client:
        rs = client.products.filter(status="draft")
        first = [p["id"] async for p in rs]
        pages = len(sent.lines)
        assert [p["id"] async for p in rs] == first
        assert await rs.first() == (await rs[0])
        assert len(sent.lines) == pages


# -- specs, async --------------------------------------------------------------------
async def test_specs_validate_before_sending_and_help(
    rql_service: RqlService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client, sent = await open_client(
        rql_service, use_specs=True, specs_location=rql_service.url + "/openapi.yaml"
    )
    async with client:
        assert client.specs is not None
        reached = len(rql_service.requests())
        with pytest.raises(SpecValidationError) as info:
            await client.products.create({"name": "only"})
        assert info.value.operation == "createProduct" and info.value.field == "body"
        with pytest.raises(SpecValidationError) as info:
            await client.products["PRD-000001"].items["x"].get()
        assert info.value.field == "path.id"
        with pytest.raises(SpecValidationError):
            client.nonexistent  # noqa: B018
        assert sent.lines == []
        assert len(rql_service.requests()) == reached  # nothing reached the server either
        assert (await client.products["PRD-000001"].get())["id"] == "PRD-000001"
        text = client.products["PRD-000001"]("endsale").help()
        assert "[postEndsale]" in text and text in capsys.readouterr().out
        assert "[listProducts]" in client.products.all().help()


async def test_a_spec_url_is_fetched_by_the_first_request(rql_service: RqlService) -> None:
    handler = Requests()
    client = AsyncClient(
        rql_service.url,
        auth=API_KEY,
        logger=_logger(handler),
        use_specs=True,
        specs_location=rql_service.url + "/openapi.json?lazy=1",
    )
    async with client:
        assert client.specs is None
        with pytest.raises(SpecValidationError):
            await client.get("products", params={"limit": "ten"})
        assert len(handler.lines) == 1 and "openapi.json" in handler.lines[0]  # only the spec
