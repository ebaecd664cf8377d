"""Collections as dicts (issue 16): the mapping view of ``client.products`` against the real
django-rql service, beside the fluent forms, which keep answering what they answered."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from settee.errors import DocumentNotFound, NotFound
from settee.rest import Client, Resource
from tests.rest.conftest import SEEDED_PRODUCTS, RqlService


class Requests(logging.Handler):
    """The transport's request log lines (one per HTTP request sent)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def counted_client(service: RqlService, **options: Any) -> tuple[Client, Requests]:
    handler = Requests()
    log = logging.getLogger(f"test.rest.mapping.{uuid.uuid4().hex}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    return service.client(logger=log, **options), handler


@pytest.fixture
def ro(rql_service: RqlService) -> Iterator[tuple[Client, Requests]]:
    client, handler = counted_client(rql_service)
    with client:
        yield client, handler


def new_product(**fields: Any) -> dict[str, Any]:
    body = {
        "name": "mapping test",
        "vendor_id": "VA-0001",
        "category": "cloud",
        "status": "draft",
        "price": 12.5,
        "quantity": 3,
    }
    body.update(fields)
    return body


def test_contains_asks_the_server_on_a_miss_then_answers_from_the_cache(
    ro: tuple[Client, Requests],
) -> None:
    client, sent = ro
    assert "PRD-000001" in client.products
    assert len(sent.lines) == 1
    assert "PRD-000001" in client.products  # cached now
    assert len(sent.lines) == 1
    assert "PRD-999999" not in client.products
    assert len(sent.lines) == 2
    # not ids: no request
    assert 7.5 not in client.products
    assert None not in client.products
    assert "" not in client.products
    assert len(sent.lines) == 2


def test_get_follows_the_remote_switch(ro: tuple[Client, Requests]) -> None:
    client, sent = ro
    products = client.products
    assert products.get("PRD-000002") is None
    assert products.get("PRD-000002", "dflt") == "dflt"
    assert sent.lines == []  # remote=False never asks
    body = products.get("PRD-000002", remote=True)
    assert body["id"] == "PRD-000002" and body["name"] == "Widget (small)"
    assert len(sent.lines) == 1
    assert products.get("PRD-000002") == body  # cached by the remote read
    assert products.get("PRD-999999", "gone", remote=True) == "gone"
    assert products.keys() == ["PRD-000002"]
    # another handle on the same collection shares the client's cache
    assert client.collection("products").get("PRD-000002") == body
    assert client("catalog").products.get("PRD-000002") is None  # another URL
    assert len(sent.lines) == 2


def test_iteration_keys_values_items_page_over_every_record(
    rql_service: RqlService,
) -> None:
    client, sent = counted_client(rql_service, default_limit=50)
    with client:
        before = len(rql_service.requests())
        ids = list(client.products.keys(remote=True))
        assert len(ids) == SEEDED_PRODUCTS
        assert ids == sorted(ids) and ids[0] == "PRD-000001" and ids[-1] == "PRD-000360"
        pages = len(sent.lines)
        assert pages == -(-SEEDED_PRODUCTS // 50)  # 8 pages of 50
        assert all("limit=50" in line for line in sent.lines)
        # what the server saw: one GET per page, offsets 0, 50, ..., 350
        assert rql_service.requests()[before:] == [
            f"GET /public/v1/products?limit=50&offset={offset}" for offset in range(0, 360, 50)
        ]
        assert [b["id"] for b in client.products] == ids
        assert [k for k, _ in client.products.items()] == ids
        first = next(iter(client.products.values()))
        assert first["id"] == "PRD-000001"
        # iteration does not fill the cache (constant memory)
        assert client.products.keys() == []
        assert len(client.cache) == 0


def test_iteration_holds_one_page_at_a_time(rql_service: RqlService) -> None:
    client, sent = counted_client(rql_service, default_limit=40)
    with client:
        walk = iter(client.products)
        for _ in range(40):
            next(walk)
        assert len(sent.lines) == 1  # the second page is not fetched before it is needed
        next(walk)
        assert len(sent.lines) == 2


def test_len_is_the_servers_count(ro: tuple[Client, Requests]) -> None:
    client, sent = ro
    assert len(client.products) == SEEDED_PRODUCTS
    assert len(sent.lines) == 1 and "limit=0" in sent.lines[0]
    assert bool(client.products)  # never asks
    assert len(sent.lines) == 1


def test_setitem_creates_then_updates_and_delitem_follows_remote(
    rql_rw_service: RqlService,
) -> None:
    client, sent = counted_client(rql_rw_service)
    new_id = f"MAP-{uuid.uuid4().hex[:8].upper()}"
    with client:
        products = client.products
        before = len(products)
        products[new_id] = new_product()
        assert len(products) == before + 1
        assert products.get(new_id)["name"] == "mapping test"  # the server's answer, cached
        assert products.get(new_id)["vendor"]["id"] == "VA-0001"

        sent.lines.clear()
        products[new_id] = {"name": "renamed"}
        assert len(sent.lines) == 1 and sent.lines[0].startswith("PUT")
        assert products.get(new_id)["name"] == "renamed"
        assert products[new_id].get()["name"] == "renamed"  # the server agrees

        del products[new_id]  # the cached copy only
        assert products.get(new_id) is None
        with pytest.raises(KeyError):
            del products[new_id]  # nothing cached any more
        assert new_id in products  # still on the server (asked again)

        products.__delitem__(new_id, remote=True)
        assert new_id not in products
        assert products.get(new_id, remote=True) is None
        assert len(products) == before
        with pytest.raises(NotFound):
            products.__delitem__(new_id, remote=True)


def test_setitem_refuses_a_body_that_is_not_a_mapping(ro: tuple[Client, Requests]) -> None:
    client, sent = ro
    with pytest.raises(TypeError):
        client.products["PRD-000001"] = ["not", "a", "dict"]  # type: ignore[assignment]
    assert sent.lines == []


def test_the_fluent_forms_answer_what_they_answered(ro: tuple[Client, Requests]) -> None:
    client, sent = ro
    handle = client.products["PRD-000003"]
    assert isinstance(handle, Resource)  # the fluent form wins for [id]: a handle...
    assert sent.lines == []  # ...and nothing is fetched
    body = handle.get()
    assert body["id"] == "PRD-000003"
    assert client.products.get("PRD-000003") == body  # get() refreshed the cache
    assert handle.body == body  # from the cache: no request
    assert len(sent.lines) == 1
    assert client.products.filter(status="published").count() > 0
    assert client("catalog").collection("products").all().first()["id"] == "PRD-000001"
    assert client.products["PRD-000003"]("endsale").get()["id"] == "PRD-000003"


def test_body_fetches_on_a_miss_and_raises_a_key_error_when_absent(
    ro: tuple[Client, Requests],
) -> None:
    client, sent = ro
    assert client.products["PRD-000004"].body["id"] == "PRD-000004"
    assert client.products["PRD-000004"].body["id"] == "PRD-000004"
    assert len(sent.lines) == 1
    with pytest.raises(DocumentNotFound) as caught:
        client.products["PRD-999999"].body  # noqa: B018
    assert isinstance(caught.value, KeyError) and caught.value.status == 404


def test_the_cache_is_bounded(rql_service: RqlService) -> None:
    client, _ = counted_client(rql_service, cache_size=3)
    with client:
        for n in range(1, 6):
            assert f"PRD-00000{n}" in client.products
        assert sorted(client.products.keys()) == ["PRD-000003", "PRD-000004", "PRD-000005"]
        assert len(client.cache) == 3
        client.products.clear_cache()
        assert client.products.keys() == []


def test_cache_options_are_checked() -> None:
    with pytest.raises(ValueError):
        Client("http://127.0.0.1:9/public/v1", cache_size=0)
    with pytest.raises(ValueError):
        Client("http://127.0.0.1:9/public/v1", cache_ttl=-1)
    with pytest.raises(ValueError):
        Client("http://127.0.0.1:9/public/v1", use_specs=True)  # no specs_location


def test_a_ttl_cache_keeps_bodies_within_the_ttl(rql_service: RqlService) -> None:
    client, _ = counted_client(rql_service, cache_ttl=3600)
    with client:
        assert client.cache_ttl == 3600
        client.products.get("PRD-000001", remote=True)
        assert client.products.keys() == ["PRD-000001"]


def test_update_and_delete_keep_the_cache_true(rql_rw_service: RqlService) -> None:
    client, _ = counted_client(rql_rw_service)
    with client:
        created = client.products.create(new_product(name="cache truth"))
        rid = created["id"]
        assert client.products.get(rid) == created  # create() caches the answer
        client.products[rid].update({"quantity": 9})
        assert client.products.get(rid)["quantity"] == 9
        client.products.bulk_update([{"id": rid, "quantity": 10}])
        assert client.products.get(rid) is None  # a bulk write forgets the cached copy
        assert client.products.get(rid, remote=True)["quantity"] == 10
        client.products[rid].delete()
        assert client.products.get(rid) is None
        assert rid not in client.products
