"""The fluent REST client against the real django-rql service (no mocked responses)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from settee.auth.schemes import ApiKeyAuth
from settee.errors import BadRequest, CouchError, NotFound, ServerError, Unauthorized
from settee.rest.client import NS, Action, Client, Collection, Resource
from settee.rest.resourceset import ResourceSet
from tests.rest.conftest import API_KEY, SEEDED_PRODUCTS, RqlService


class Requests(logging.Handler):
    """Counts the transport's request log lines (one per HTTP request sent)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def counted(rql_service: RqlService) -> Any:
    handler = Requests()
    log = logging.getLogger(f"test.rest.{uuid.uuid4().hex}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    with rql_service.client(logger=log) as client:
        yield client, handler


# -- navigation ----------------------------------------------------------------------
def test_handles_address_the_right_urls(rql_client: Client) -> None:
    base = rql_client.endpoint
    assert isinstance(rql_client.products, Collection)
    assert rql_client.products.url == base + "/products"
    assert rql_client.collection("products") == rql_client.products
    assert isinstance(rql_client("catalog"), NS)
    assert rql_client.ns("catalog").products.url == base + "/catalog/products"
    assert rql_client("catalog")("archive").products.url == base + "/catalog/archive/products"
    res = rql_client.products["PRD-000001"]
    assert isinstance(res, Resource) and res.url == base + "/products/PRD-000001"
    assert rql_client.products.resource(7).url == base + "/products/7"
    assert isinstance(res("endsale"), Action)
    assert res.action("endsale").url == base + "/products/PRD-000001/endsale"
    assert res.items.url == res.collection("items").url == res.url + "/items"
    assert rql_client.products("stats").url == base + "/products/stats"
    assert isinstance(rql_client.products.all(), ResourceSet)
    # ids are one path segment, whatever they contain
    assert rql_client.products["a/b?c#d"].url == base + "/products/a%2Fb%3Fc%23d"
    assert rql_client.products[".."].url == base + "/products/%2E%2E"


def test_bad_names_are_refused_before_any_request(rql_client: Client) -> None:
    with pytest.raises(TypeError):
        rql_client.collection(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rql_client.ns("  ")
    with pytest.raises(ValueError):
        rql_client.products[""]
    with pytest.raises(TypeError):
        rql_client.products[None]  # type: ignore[index]
    with pytest.raises(AttributeError):
        rql_client._private  # noqa: B018
    with pytest.raises(TypeError):
        rql_client.products.create([{"name": "x"}])
    with pytest.raises(TypeError):
        rql_client.products.bulk_create({"name": "x"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unexpected keyword"):
        rql_client.products["PRD-000001"].get(verify=False)
    assert rql_client.response is None


# -- reading ------------------------------------------------------------------------------
def test_resource_get_values_and_exists(rql_client: Client) -> None:
    product = rql_client.products["PRD-000001"].get()
    assert product["id"] == "PRD-000001"
    assert product["name"] == "Widget, large"
    assert rql_client.response is not None and rql_client.response.status_code == 200
    values = rql_client.products["PRD-000001"].values("id", "vendor.name", "vendor.nope", "x.y")
    assert values == {
        "id": "PRD-000001",
        "vendor.name": product["vendor"]["name"],
        "vendor.nope": None,
        "x.y": None,
    }
    assert rql_client.products["PRD-000001"].exists() is True
    assert rql_client.products["PRD-999999"].exists() is False


def test_namespaced_and_nested_collections(rql_client: Client) -> None:
    top = rql_client.products["PRD-000002"].get()
    assert rql_client("catalog").products["PRD-000002"].get() == top
    archived = list(rql_client("catalog")("archive").products.all())
    assert archived and {p["status"] for p in archived} == {"retired"}
    with pytest.raises(NotFound):
        rql_client("catalog")("archive").products["PRD-000001"].get()  # not retired
    items = list(rql_client.products["PRD-000002"].items.all())
    nested = list(rql_client("catalog").products["PRD-000002"].collection("items").all())
    assert items == nested
    assert all(i["sku"].startswith("SKU-000002-") for i in items)


def test_collection_action_get(rql_client: Client) -> None:
    stats = rql_client.products("stats").get()
    assert stats["count"] == SEEDED_PRODUCTS
    assert sum(stats["by_status"].values()) == SEEDED_PRODUCTS
    drafts = rql_client.products.action("stats").get(params={"status": "draft"})
    assert drafts["count"] == stats["by_status"]["draft"]


def test_raw_verbs_take_relative_and_absolute_urls(rql_client: Client) -> None:
    by_path = rql_client.get("products/PRD-000003")
    by_url = rql_client.get(rql_client.endpoint + "/products/PRD-000003")
    assert by_path == by_url and by_path["id"] == "PRD-000003"
    page = rql_client.get("products", params={"limit": 2})
    assert isinstance(page, list) and len(page) == 2
    assert rql_client.response is not None
    assert rql_client.response.headers["Content-Range"] == f"items 0-1/{SEEDED_PRODUCTS}"


def test_default_headers_reach_the_server(rql_service: RqlService) -> None:
    # The key travels as a default header here instead of as an auth strategy.
    with Client(rql_service.url, default_headers={"Authorization": API_KEY}) as client:
        assert client.products["PRD-000001"].exists()


# -- errors ---------------------------------------------------------------------------------
def test_not_found_carries_connect_error_details(rql_client: Client) -> None:
    with pytest.raises(NotFound) as info:
        rql_client.products["PRD-999999"].get()
    err = info.value
    assert err.status == err.status_code == 404
    assert err.error_code == "NFND_001"
    assert err.errors and isinstance(err.errors[0], str)
    assert err.method == "GET" and err.url is not None and err.url.endswith("/PRD-999999")
    assert "NFND_001" in str(err)


def test_unknown_endpoint_is_not_found(rql_client: Client) -> None:
    with pytest.raises(NotFound) as info:
        rql_client.nothing_here.all().count()
    assert info.value.error_code == "NFND_000"


def test_bad_rql_is_a_bad_request_with_the_reason(rql_client: Client) -> None:
    with pytest.raises(BadRequest) as info:
        rql_client.products.filter("eq(name").count()
    assert info.value.error_code == "VAL_001"
    assert any("rql" in str(e) for e in info.value.errors)
    with pytest.raises(BadRequest, match="Bad select filter"):
        rql_client.products.all().select("-no_such_field").first()


def test_wrong_key_is_unauthorized(rql_service: RqlService) -> None:
    with Client(rql_service.url, auth=ApiKeyAuth("ApiKey SU-000:wrong")) as client:
        with pytest.raises(Unauthorized) as info:
            client.products["PRD-000001"].get()
    assert info.value.error_code == "AUTH_001"
    assert info.value.errors == ["Invalid or missing API key."]
    assert "wrong" not in repr(client)


def test_validation_errors_keep_error_code_and_errors(rw_client: Client) -> None:
    with pytest.raises(BadRequest) as info:
        rw_client.products.create({"name": "incomplete"})
    err = info.value
    assert err.error_code == "VAL_001"
    assert "vendor_id: This field is required." in err.errors
    assert "price: This field is required." in err.errors


# -- writing (on the writable service) -------------------------------------------------
def _new_product(**extra: Any) -> dict[str, Any]:
    body = {
        "name": "Nuevo, (test) 'product' ☃",
        "vendor_id": "VA-0001",
        "category": "software",
        "status": "draft",
        "price": 12.5,
        "quantity": 3,
        "released": "2024-02-29",
        "extra": {"nested": {"deep": [1, 2]}},
    }
    body.update(extra)
    return body


def test_create_update_delete_a_resource(rw_client: Client) -> None:
    created = rw_client.products.create(_new_product())
    pid = created["id"]
    assert created["vendor"]["id"] == "VA-0001"
    assert created["extra"] == {"nested": {"deep": [1, 2]}}
    assert rw_client.response is not None and rw_client.response.status_code == 201
    resource = rw_client.products[pid]
    updated = resource.update({"price": 99.99, "notes": None})
    assert updated["price"] == 99.99 and updated["name"] == created["name"]
    assert resource.get()["price"] == 99.99
    assert resource.delete() is None
    assert rw_client.response is not None and rw_client.response.status_code == 204
    assert resource.exists() is False
    with pytest.raises(NotFound):
        resource.delete()


def test_resource_action_verbs(rw_client: Client) -> None:
    pid = rw_client.products.create(_new_product(status="published"))["id"]
    action = rw_client.products[pid]("endsale")
    assert action.get() == {"id": pid, "status": "published", "notes": None}
    ended = action.post({"end_of_sale_notes": "replaced by PRD-2"})
    assert ended == {"id": pid, "status": "endofsale", "notes": "replaced by PRD-2"}
    with pytest.raises(BadRequest, match="already at end of sale"):
        action.post({})
    assert action.put({"end_of_sale_notes": "again"})["notes"] == "again"
    assert action.delete() is None
    assert rw_client.products[pid].get()["status"] == "published"


def test_nested_collection_create(rw_client: Client) -> None:
    pid = rw_client.products.create(_new_product())["id"]
    items = rw_client.products[pid].items
    made = items.create({"name": "seat", "sku": "S-1", "quantity": 2, "unit_price": 1.25})
    assert items.all().count() == 1
    assert items[made["id"]].get()["sku"] == "S-1"
    with pytest.raises(NotFound):
        rw_client.products["PRD-NOPE"].items.create({"name": "x", "sku": "y", "unit_price": 1})


def test_bulk_create_update_delete(rw_client: Client) -> None:
    tag = uuid.uuid4().hex[:8]
    created = rw_client.products.bulk_create(
        [_new_product(name=f"bulk {tag} {i}", quantity=i) for i in range(5)]
    )
    assert [p["quantity"] for p in created] == [0, 1, 2, 3, 4]
    ids = [p["id"] for p in created]
    found = rw_client.products.filter(name__like=f"bulk {tag} *")
    assert found.count() == 5
    changed = rw_client.products.bulk_update(
        tuple({"id": pid, "category": "cloud"} for pid in ids[:3])
    )
    assert {p["category"] for p in changed} == {"cloud"}
    assert found.filter(category="cloud").count() == 3
    assert rw_client.products.bulk_delete([{"id": pid} for pid in ids]) is None
    assert found.count() == 5  # a set remembers the total it has seen ...
    assert found.all().count() == 0  # ... a copy asks again


def test_bulk_is_all_or_nothing_on_the_server(rw_client: Client) -> None:
    tag = uuid.uuid4().hex[:8]
    with pytest.raises(BadRequest) as info:
        rw_client.products.bulk_create(
            [_new_product(name=f"atomic {tag}"), {"name": f"atomic {tag} broken"}]
        )
    assert info.value.errors  # DRF's per-item errors, flattened
    assert rw_client.products.filter(name__like=f"atomic {tag}*").count() == 0
    with pytest.raises(NotFound):
        rw_client.products.bulk_delete([{"id": "PRD-DOES-NOT-EXIST"}])


def test_raw_create_update_delete(rw_client: Client) -> None:
    made = rw_client.create("vendors", {"name": "Raw & Co", "country": "ES"})
    vid = made["id"]
    assert rw_client.update(f"vendors/{vid}", {"active": False})["active"] is False
    assert rw_client.delete(f"vendors/{vid}") is None
    with pytest.raises(NotFound):
        rw_client.get(f"vendors/{vid}")


# -- retries ------------------------------------------------------------------------------------
def _attempts(client: Client, key: str) -> int:
    result: int = client.get(f"faults/{key}/attempts")["attempts"]
    return result


def test_get_is_retried_on_503_with_retry_after(rql_service: RqlService) -> None:
    key = uuid.uuid4().hex
    with rql_service.client(max_retries=3, backoff_factor=0) as client:
        body = client.get(f"faults/{key}", params={"fail": 2, "status": 503, "retry_after": 0})
        assert body == {"attempts": 3, "method": "GET"}


def test_retries_give_up_after_max_retries(rql_service: RqlService) -> None:
    key = uuid.uuid4().hex
    with rql_service.client(max_retries=1, backoff_factor=0) as client:
        with pytest.raises(ServerError) as info:
            client.get(f"faults/{key}", params={"fail": 5, "status": 502})
        assert info.value.status == 502 and info.value.error_code == "HTTP_502"
        assert _attempts(client, key) == 2


def test_retry_status_codes_are_configurable(rql_service: RqlService) -> None:
    key = uuid.uuid4().hex
    with rql_service.client(backoff_factor=0, retry_status_codes=(500,)) as client:
        assert client.get(f"faults/{key}", params={"fail": 1, "status": 500})["attempts"] == 2
        other = uuid.uuid4().hex
        with pytest.raises(ServerError):
            client.get(f"faults/{other}", params={"fail": 1, "status": 503})
        assert _attempts(client, other) == 1


def test_post_is_not_replayed_after_a_5xx_unless_opted_in(rql_service: RqlService) -> None:
    key = uuid.uuid4().hex
    with rql_service.client(backoff_factor=0) as client:
        with pytest.raises(ServerError):
            client.create(f"faults/{key}", {"x": 1}, params={"fail": 1, "status": 503})
        assert _attempts(client, key) == 1
    key = uuid.uuid4().hex
    with rql_service.client(backoff_factor=0, retry_post=True) as client:
        answer = client.create(f"faults/{key}", {"x": 1}, params={"fail": 1, "status": 503})
        assert answer == {"attempts": 2, "method": "POST"}


def test_put_and_delete_are_idempotent_and_retried(rql_service: RqlService) -> None:
    with rql_service.client(backoff_factor=0) as client:
        for verb in (client.update, client.delete):
            key = uuid.uuid4().hex
            assert verb(f"faults/{key}", None, params={"fail": 1})["attempts"] == 2


def test_429_is_replayed_even_for_post(rql_service: RqlService) -> None:
    key = uuid.uuid4().hex
    with rql_service.client(backoff_factor=0) as client:
        answer = client.create(
            f"faults/{key}", {}, params={"fail": 1, "status": 429, "retry_after": 0}
        )
        assert answer["attempts"] == 2


def test_no_retries_with_max_retries_zero(rql_service: RqlService) -> None:
    key = uuid.uuid4().hex
    with rql_service.client(max_retries=0) as client:
        with pytest.raises(ServerError):
            client.get(f"faults/{key}", params={"fail": 1})
        assert _attempts(client, key) == 1


def test_4xx_errors_are_not_retried(rql_service: RqlService) -> None:
    key = uuid.uuid4().hex
    with rql_service.client(backoff_factor=0) as client:
        with pytest.raises(CouchError) as info:
            client.get(f"faults/{key}", params={"fail": 1, "status": 422})
        assert info.value.status == 422
        assert _attempts(client, key) == 1


# -- logging, options ---------------------------------------------------------------------------
def test_logger_receives_request_logs_without_secrets(counted: Any) -> None:
    client, handler = counted
    client.products["PRD-000001"].get()
    assert len(handler.lines) == 1
    assert handler.lines[0].startswith("GET ") and "/products/PRD-000001 -> 200" in handler.lines[0]
    assert "s3cret" not in handler.lines[0]


def test_client_options_are_validated(rql_service: RqlService) -> None:
    with pytest.raises(ValueError):
        Client(rql_service.url, default_limit=0)
    with pytest.raises(TypeError):
        Client(rql_service.url, logger="settee")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Client("ftp://example.invalid")
    with pytest.raises(ValueError):
        Client(rql_service.url, max_retries=-1)
    client = Client(rql_service.url, auth=API_KEY, verify=False, timeout=5)
    assert client.transport.session.verify is False
    assert "s3cret" not in repr(client)
    client.close()


def test_connection_refused_is_a_transport_error(rql_service: RqlService) -> None:
    from settee.errors import TransportError
    from tests.conftest import free_port

    with Client(f"http://127.0.0.1:{free_port()}/v1", max_retries=0) as client:
        with pytest.raises(TransportError):
            client.products.all().count()


@pytest.mark.parametrize(
    ("method", "retry_post", "expected"),
    [
        ("GET", False, True),
        ("HEAD", False, True),
        ("OPTIONS", False, True),
        ("PUT", False, True),
        ("DELETE", False, True),
        ("POST", False, False),
        ("PATCH", False, False),
        ("POST", True, True),
        ("PATCH", True, True),
    ],
)
def test_rest_retry_policy_follows_http_idempotency(
    method: str, retry_post: bool, expected: bool
) -> None:
    from settee.rest._http import RestRetryPolicy

    policy = RestRetryPolicy(total=3, retry_post=retry_post)
    assert policy.replayable(method, "http://127.0.0.1/x") is expected
    assert RestRetryPolicy.like(policy).replayable(method, "http://127.0.0.1/x") is expected
    assert policy.new(total=1).retry_post is retry_post


def test_client_uses_the_rest_policy_with_its_options(rql_service: RqlService) -> None:
    from settee.rest._http import RestRetryPolicy

    with rql_service.client(max_retries=5, backoff_factor=0.25, retry_post=True) as client:
        policy = client.transport.retry
        assert isinstance(policy, RestRetryPolicy)
        assert policy.total == 5 and policy.backoff_factor == 0.25 and policy.retry_post
        mounted = client.transport.session.get_adapter("http://127.0.0.1/")
        assert mounted.max_retries is policy  # type: ignore[attr-defined]


def test_response_is_writable(rql_client: Client) -> None:
    rql_client.products["PRD-000001"].get()
    assert rql_client.response is not None
    rql_client.response = None
    assert rql_client.response is None
