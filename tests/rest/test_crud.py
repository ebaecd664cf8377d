"""CloudCIX/CRUDs-style verbs (Endpoint, CrudClient) against the service's plain-DRF side."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from settee.errors import BadRequest, NotFound, ServerError, TransportError, Unauthorized
from settee.rest.client import Client, CrudClient
from settee.rest.crud import Endpoint, HeadResult
from tests.rest.conftest import API_KEY, SEEDED_PRODUCTS, RqlService


@pytest.fixture
def api(rql_rw_service: RqlService) -> Iterator[CrudClient]:
    with CrudClient(rql_rw_service.api_url, auth=API_KEY, backoff_factor=0) as client:
        yield client


@pytest.fixture
def ro_api(rql_service: RqlService) -> Iterator[CrudClient]:
    with CrudClient(rql_service.api_url, auth=API_KEY, backoff_factor=0) as client:
        yield client


def _body(**extra: Any) -> dict[str, Any]:
    body = {
        "name": f"crud {uuid.uuid4().hex[:8]}",
        "vendor_id": "VA-0002",
        "category": "services",
        "status": "draft",
        "price": 1.5,
        "quantity": 1,
    }
    body.update(extra)
    return body


def test_create_read_update_partial_update_delete(api: CrudClient) -> None:
    created = api.create("products/", _body())
    pid = created["id"]
    assert api.response is not None and api.response.status_code == 201
    assert api.read(f"products/{pid}/") == created
    patched = api.update(f"products/{pid}/", {"quantity": 9})
    assert api.response is not None and api.response.request.method == "PATCH"
    assert patched["quantity"] == 9 and patched["name"] == created["name"]
    assert api.partial_update(f"products/{pid}/", {"weight": 2.25})["weight"] == 2.25
    replaced = api.update(f"products/{pid}/", _body(name="replaced", quantity=4), replace=True)
    assert api.response is not None and api.response.request.method == "PUT"
    assert replaced["name"] == "replaced" and replaced["weight"] == 2.25
    assert api.delete(f"products/{pid}/") == b""
    with pytest.raises(NotFound) as info:
        api.read(f"products/{pid}/")
    assert info.value.reason == "No Product matches the given query."


def test_put_replace_needs_every_required_field(api: CrudClient) -> None:
    pid = api.create("products/", _body())["id"]
    with pytest.raises(BadRequest) as info:
        api.update(f"products/{pid}/", {"name": "only a name"}, replace=True)
    errors = info.value.errors
    assert "vendor_id: This field is required." in errors
    assert "price: This field is required." in errors
    assert info.value.error_code is None  # DRF's own shape, not Connect's


def test_endpoints_on_resources_and_paths(rql_rw_service: RqlService) -> None:
    with Client(rql_rw_service.root, auth=API_KEY) as client:
        products = client.crud("api/products/")
        assert isinstance(products, Endpoint)
        made = products.create(_body())
        one = products / made["id"]
        assert one.url.endswith(f"/api/products/{made['id']}/")
        assert one.read()["id"] == made["id"]
        assert one.partial_update({"notes": "n"})["notes"] == "n"
        # the same verbs on a Connect-style Resource handle
        res = client("public")("v1").products[made["id"]]
        assert res.crud.update({"quantity": 77})["quantity"] == 77
        assert res.crud.read()["quantity"] == 77
        assert one.delete() == b""


def test_head(ro_api: CrudClient) -> None:
    result = ro_api.head("products/PRD-000001/")
    assert isinstance(result, HeadResult)
    assert result.status == 200
    assert result.headers["content-type"] == "application/json"
    with pytest.raises(NotFound):
        ro_api.head("products/PRD-999999/")


def test_list_returns_one_page_and_get_all_follows_next(ro_api: CrudClient) -> None:
    page = ro_api.list("products/", {"limit": 7})
    assert page["count"] == SEEDED_PRODUCTS and len(page["results"]) == 7
    assert page["next"] is not None
    everything = ro_api.get_all("products/", {"limit": 40})
    assert [p["id"] for p in everything] == [f"PRD-{n:06d}" for n in range(1, 361)]


def test_get_all_with_filter_params(ro_api: CrudClient) -> None:
    drafts = ro_api.get_all("products/", {"status": "draft", "limit": 9})
    count = ro_api.list("products/", {"status": "draft", "limit": 1})["count"]
    assert len(drafts) == count > 9
    assert {p["status"] for p in drafts} == {"draft"}


def test_get_all_follows_content_range_pages(rql_service: RqlService) -> None:
    with CrudClient(rql_service.url, auth=API_KEY) as api:
        everything = api.get_all("products", {"limit": 50})
        assert len(everything) == SEEDED_PRODUCTS
        assert len({p["id"] for p in everything}) == SEEDED_PRODUCTS
        published = api.get_all("products", {"published": "true", "limit": 25})
        assert published and all(p["published"] for p in published)
        one = api.read("products/PRD-000004")
        with pytest.raises(TransportError, match="neither a list"):
            api.get_all("products/PRD-000004")
        assert one["id"] == "PRD-000004"


def test_multipart_upload(api: CrudClient) -> None:
    pid = api.create("products/", _body())["id"]
    pdf = b"%PDF-1.4 \x00\xff binary \r\n--boundary-looking line\r\n"
    made = api.create(
        f"products/{pid}/attachments/",
        {"note": "hello ☃", "n": 3},
        files={"file": ("report.pdf", pdf, "application/pdf")},
    )
    assert made["filename"] == "report.pdf"
    assert made["content_type"] == "application/pdf"
    assert made["size"] == len(pdf)
    assert made["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert made["form"] == {"note": "hello ☃", "n": "3"}
    two = api.create(
        f"products/{pid}/attachments/",
        files={"a": ("a.txt", "text á"), "b": ("b.bin", b"\x01\x02")},
    )
    assert sorted((x["field"], x["size"]) for x in two) == [("a", 7), ("b", 2)]
    assert len(api.get_all(f"products/{pid}/attachments/")) == 3
    with pytest.raises(TypeError):
        api.create(f"products/{pid}/attachments/", files={"f": 123})  # type: ignore[dict-item]


def test_raw_string_and_bytes_bodies(rql_rw_service: RqlService) -> None:
    import json

    from settee.errors import CouchError

    text = json.dumps(_body())
    with CrudClient(rql_rw_service.api_url, auth=API_KEY) as api:
        # str/bytes are sent as they are: no JSON encoding, no Content-Type guessed
        with pytest.raises(CouchError) as info:
            api.create("products/", text)
        assert info.value.status == 415
    headers = {"Content-Type": "application/json"}
    with CrudClient(rql_rw_service.api_url, auth=API_KEY, default_headers=headers) as api:
        assert api.create("products/", text)["name"] == json.loads(text)["name"]
        again = json.loads(text) | {"name": "bytes body"}
        assert api.create("products/", json.dumps(again).encode())["name"] == "bytes body"


def test_raise_status_false_returns_the_error_body(rql_rw_service: RqlService) -> None:
    with CrudClient(rql_rw_service.api_url, auth=API_KEY, raise_status=False) as api:
        body = api.read("products/PRD-999999/")
        assert body == {"detail": "No Product matches the given query."}
        assert api.response is not None and api.response.status_code == 404
        api.raise_status = True
        with pytest.raises(NotFound):
            api.read("products/PRD-999999/")


def test_status_ignore(rql_rw_service: RqlService) -> None:
    with CrudClient(rql_rw_service.api_url, auth=API_KEY, status_ignore={404}) as api:
        assert api.read("products/PRD-999999/") == {"detail": "No Product matches the given query."}
        with pytest.raises(BadRequest):
            api.create("products/", {})
        api.status_ignore.add(400)
        assert "name" in api.create("products/", {})


def test_unauthorized_keeps_drf_detail(rql_rw_service: RqlService) -> None:
    with CrudClient(rql_rw_service.api_url) as api:
        with pytest.raises(Unauthorized) as info:
            api.read("products/")
        assert info.value.reason == "Authentication credentials were not provided."
    # CloudCIX sends its token in X-Auth-Token
    with CrudClient(rql_rw_service.api_url, default_headers={"X-Auth-Token": API_KEY}) as api:
        assert api.read("products/PRD-000001/")["id"] == "PRD-000001"


def test_cruds_retry_defaults_replay_reads_not_posts(rql_rw_service: RqlService) -> None:
    faults = rql_rw_service.url + "/faults/"
    with CrudClient(rql_rw_service.url, auth=API_KEY, backoff_factor=0) as api:
        key = uuid.uuid4().hex
        # CRUDs retries 500 too, and 4 times by default
        assert api.read(faults + key, {"fail": 4, "status": 500})["attempts"] == 5
        key = uuid.uuid4().hex
        with pytest.raises(ServerError):
            api.create(faults + key, {}, {"fail": 1, "status": 500})
        assert api.read(faults + key + "/attempts") == {"attempts": 1}
        key = uuid.uuid4().hex
        with pytest.raises(ServerError):
            api.update(faults + key, {}, {"fail": 1, "status": 500})  # PATCH: not idempotent
        assert api.read(faults + key + "/attempts") == {"attempts": 1}
        key = uuid.uuid4().hex
        assert api.update(faults + key, {}, {"fail": 1}, replace=True)["attempts"] == 2  # PUT


def test_verify_ssl_and_repr(rql_rw_service: RqlService) -> None:
    with CrudClient(rql_rw_service.api_url, auth=API_KEY, verify_ssl=False) as api:
        assert api.client.transport.session.verify is False
        assert "s3cret" not in repr(api) + repr(api.client)
