"""OpenAPI specs (issue 16): the django-rql service's DRF-generated document
(tests/servers/rql_service/openapi.py, served at /public/v1/openapi.{json,yaml}) loaded by
``Client(use_specs=True, ...)``; calls the spec refuses never leave the process.

"Never sent" is checked on both sides: the client's request log (``logger=``) has
no line for the call, and neither has the server's (``--request-log``, read with
``RqlService.requests()``)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from settee.errors import BadRequest
from settee.rest import Client, Specs, SpecValidationError
from settee.rest.specs import parse_specs
from tests.rest.conftest import API_KEY, RqlService


class Requests(logging.Handler):
    """The transport's request log lines (one per HTTP request sent), and what reached
    the server since :meth:`clear` (its own request log)."""

    def __init__(self, service: RqlService) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.service = service
        self._seen = len(service.requests())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def clear(self) -> None:
        self.lines.clear()
        self._seen = len(self.service.requests())

    @property
    def on_server(self) -> list[str]:
        """The requests the server received since the last :meth:`clear`."""
        return self.service.requests()[self._seen :]


def spec_client(
    service: RqlService, location: str | Path, **options: Any
) -> tuple[Client, Requests]:
    handler = Requests(service)
    log = logging.getLogger(f"test.rest.specs.{uuid.uuid4().hex}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    client = service.client(logger=log, use_specs=True, specs_location=location, **options)
    handler.clear()  # the spec's own download, if any
    return client, handler


@pytest.fixture(scope="module")
def spec_file(rql_service: RqlService, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The service's spec saved as a local JSON file."""
    with rql_service.client() as client:
        body = client.send("GET", "openapi.json").content
    path = tmp_path_factory.mktemp("specs") / "openapi.json"
    path.write_bytes(body)
    return path


@pytest.fixture
def checked(rql_service: RqlService, spec_file: Path) -> Iterator[tuple[Client, Requests]]:
    client, sent = spec_client(rql_service, spec_file, validate_responses=True)
    with client:
        yield client, sent


def refused(call: Any, sent: Requests, *, operation: str, field: str) -> SpecValidationError:
    with pytest.raises(SpecValidationError) as caught:
        call()
    assert sent.lines == [], "a refused call must not be sent"
    assert sent.on_server == [], "a refused call must not reach the server"
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.operation == operation, str(error)
    assert error.field == field, str(error)
    assert operation in str(error) and field in str(error)
    return error


# -- loading ---------------------------------------------------------------------------
def test_the_spec_loads_from_a_url_as_yaml_once(rql_service: RqlService) -> None:
    # A URL no other test used, so this process has not fetched it yet.
    url = rql_service.url + f"/openapi.yaml?once={uuid.uuid4().hex}"
    target = url[len(rql_service.root) :]
    before = len(rql_service.requests())
    first, _ = spec_client(rql_service, url)
    second, sent = spec_client(rql_service, url)
    with first, second:
        assert isinstance(first.specs, Specs)
        assert second.specs is first.specs  # parsed once, kept in memory
        assert first.specs.title == "settee test catalog (django-rql)"
        for client in (first, second):  # many checked calls use the spec in memory
            assert client.products["PRD-000001"].get()["id"] == "PRD-000001"
            assert client.products.filter(status="draft").count() > 0
            client.products.help()
        third, _ = spec_client(rql_service, url)
        with third:
            assert third.specs is first.specs
            assert third.products.all().first()["id"] == "PRD-000001"
    reached = rql_service.requests()[before:]
    assert reached.count(f"GET {target}") == 1, reached  # one download for three clients
    assert not any("openapi" in line for line in sent.lines)


def test_the_spec_loads_from_a_local_json_file_once(
    rql_service: RqlService, spec_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "once.json"
    path.write_bytes(spec_file.read_bytes())
    reads: list[Path] = []
    read_bytes = Path.read_bytes

    def counting(self: Path) -> bytes:
        if self.name == path.name:
            reads.append(self)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    a, _ = spec_client(rql_service, path)
    b, _ = spec_client(rql_service, str(path))
    with a, b:
        assert a.specs is b.specs
        for _ in range(3):
            assert a.products["PRD-000002"].get()["id"] == "PRD-000002"
            assert b.products.filter(status="draft").limit(5).first() is not None
    assert len(reads) == 1  # one read of the file for two clients and every call
    # A new version of the file (another size) is read again, once.
    path.write_bytes(spec_file.read_bytes() + b"\n")
    c, _ = spec_client(rql_service, path)
    with c:
        assert c.specs is not a.specs
    assert len(reads) == 2


def test_a_document_that_is_not_openapi_3_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an OpenAPI 3 document"):
        parse_specs(b"swagger: '2.0'\npaths: {}\n")
    path = tmp_path / "x.yaml"
    path.write_text("just: text\n")
    with pytest.raises(ValueError, match="OpenAPI 3"):
        Client("http://127.0.0.1:9/public/v1", use_specs=True, specs_location=path)


# -- validation failures are caught locally -------------------------------------------------
def test_a_path_the_spec_lacks_is_refused_before_any_request(
    checked: tuple[Client, Requests],
) -> None:
    client, sent = checked
    refused(lambda: client.nonexistent, sent, operation="/public/v1/nonexistent", field="path")
    refused(lambda: client("catalog").nope, sent, operation="/public/v1/catalog/nope", field="path")
    refused(
        lambda: client.products["PRD-000001"]("explode"),
        sent,
        operation="/public/v1/products/PRD-000001/explode",
        field="path",
    )
    refused(
        lambda: client.get("nowhere/at/all"),
        sent,
        operation="GET /public/v1/nowhere/at/all",
        field="path",
    )


def test_a_method_the_path_lacks_is_refused(checked: tuple[Client, Requests]) -> None:
    client, sent = checked
    error = refused(
        lambda: client("catalog")("archive").products.create({"name": "x"}),
        sent,
        operation="POST /public/v1/catalog/archive/products",
        field="method",
    )
    assert "GET" in str(error)


def test_query_parameters_are_checked_against_their_schemas(
    checked: tuple[Client, Requests],
) -> None:
    client, sent = checked
    refused(
        lambda: client.get("products", params={"limit": "ten"}),
        sent,
        operation="listProducts",
        field="query.limit",
    )
    refused(
        lambda: client.products.all().configure(params={"price": "cheap"}).first(),
        sent,
        operation="listProducts",
        field="query.price",
    )


def test_path_parameters_are_checked_against_their_schemas(
    checked: tuple[Client, Requests],
) -> None:
    client, sent = checked
    refused(
        lambda: client.products["PRD-000001"].items["first"].get(),
        sent,
        operation="retrieveItem",
        field="path.id",
    )


def test_request_bodies_are_checked_against_their_schemas(
    checked: tuple[Client, Requests],
) -> None:
    client, sent = checked
    error = refused(
        lambda: client.products.create({"name": "only a name"}),
        sent,
        operation="createProduct",
        field="body",
    )
    assert "required" in error.reason
    refused(
        lambda: client.products["PRD-000001"].update({"price": "cheap"}),
        sent,
        operation="updateProduct",
        field="body.price",
    )
    refused(
        lambda: client.products.bulk_update([{"name": "no id"}]),
        sent,
        operation="bulkUpdateProduct",
        field="body[0]",
    )
    refused(
        lambda: client.vendors.bulk_delete([{"name": "no id"}]),
        sent,
        operation="bulkDeleteVendor",
        field="body[0]",
    )
    refused(
        lambda: client.products["PRD-000001"]("endsale").post({"bogus": True}),
        sent,
        operation="postEndsale",
        field="body",
    )
    refused(
        lambda: client.products.create({**_valid_product(), "status": "sold"}),
        sent,
        operation="createProduct",
        field="body.status",
    )
    refused(
        lambda: client.send("DELETE", "products"),
        sent,
        operation="bulkDeleteProduct",
        field="body",
    )


def test_the_mapping_view_is_checked_too(checked: tuple[Client, Requests]) -> None:
    client, sent = checked
    refused(
        lambda: client.products.__setitem__("PRD-000001", {"quantity": "many"}),
        sent,
        operation="updateProduct",
        field="body.quantity",
    )


def _valid_product() -> dict[str, Any]:
    return {
        "name": "spec-checked",
        "vendor_id": "VA-0002",
        "category": "software",
        "status": "draft",
        "price": 19.99,
        "quantity": 4,
    }


# -- valid calls are unchanged ---------------------------------------------------------------
def test_valid_calls_go_through_unchanged(rql_rw_service: RqlService) -> None:
    client, sent = spec_client(
        rql_rw_service, rql_rw_service.url + "/openapi.json", validate_responses=True
    )
    with client:
        product = client.products["PRD-000010"].get()
        assert product["id"] == "PRD-000010"
        assert len(sent.lines) == 1
        assert client.products.filter(status="published").limit(20).count() > 0
        assert len(list(client.products.all().limit(100))) == len(client.products)
        created = client.products.create(_valid_product())
        assert created["price"] == 19.99
        assert client.products[created["id"]].update({"name": "renamed"})["name"] == "renamed"
        assert (
            client.products.bulk_update([{"id": created["id"], "quantity": 5}])[0]["quantity"] == 5
        )
        assert (
            client.products[created["id"]]("endsale").post({"end_of_sale_notes": "obsolete"})[
                "status"
            ]
            == "endofsale"
        )
        assert client.products("stats").get()["count"] == len(client.products)
        client.products.bulk_delete([{"id": created["id"]}])
        assert created["id"] not in client.products
        # the server's own refusal still comes back as before
        with pytest.raises(BadRequest):
            client.products.create({**_valid_product(), "vendor_id": "VA-NOPE"})


def test_validation_can_be_switched_off(rql_service: RqlService, spec_file: Path) -> None:
    client, sent = spec_client(rql_service, spec_file, validate_using_specs=False)
    with client, pytest.raises(BadRequest):
        client.get("products", params={"price": "cheap"})  # the server answers 400 itself
    assert len(sent.lines) == 1
    assert client.specs is not None  # help() still has it


def test_responses_are_checked_when_asked(rql_service: RqlService, tmp_path: Path) -> None:
    # A spec that says a product's name is an integer: every real answer breaks it.
    with rql_service.client() as plain:
        document = json.loads(plain.send("GET", "openapi.json").content)
    document["components"]["schemas"]["Product"]["properties"]["name"] = {"type": "integer"}
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(document))
    client, _ = spec_client(rql_service, wrong, validate_responses=True)
    with client, pytest.raises(SpecValidationError) as caught:
        client.products["PRD-000001"].get()
    assert caught.value.field.startswith("response")
    assert caught.value.operation == "retrieveProduct"
    lax, _ = spec_client(rql_service, wrong)  # validate_responses is opt-in
    with lax:
        assert lax.products["PRD-000001"].get()["id"] == "PRD-000001"


# -- help() ----------------------------------------------------------------------------------
def test_help_prints_and_returns_what_the_spec_says(
    checked: tuple[Client, Requests], capsys: pytest.CaptureFixture[str]
) -> None:
    client, sent = checked
    everything = client.help()
    assert capsys.readouterr().out.strip() == everything.strip()
    assert "listVendors" in everything
    assert "apiListProducts" not in everything  # /api/ is not under this endpoint

    ns = client("catalog").help()
    assert "catalogListProducts" in ns and "listVendors" not in ns.replace("catalogList", "")

    products = client.products.help()
    assert "GET     /public/v1/products  [listProducts]  List the products" in products
    assert "limit (query, integer)" in products
    assert "DELETE  /public/v1/products  [bulkDeleteProduct]" in products
    assert "/public/v1/products/{id}/endsale" in products  # below the collection
    assert "vendors" not in products

    resource = client.products["PRD-000001"].help()
    assert "[retrieveProduct]  Get one product" in resource
    assert "id (path, string, required)" in resource
    assert "body (application/json, required): id, name" in resource
    assert "listProducts" not in resource

    action = client.products["PRD-000001"]("endsale").help()
    assert "[postEndsale]  End the sale of a product (400 if already ended)" in action
    assert "body (application/json): replacement, end_of_sale_notes" in action
    assert "retrieveProduct" not in action

    listing = client.products.filter(status="draft").help()
    assert "[listProducts]" in listing and "createProduct" in listing
    assert "retrieveProduct" not in listing
    assert sent.lines == []  # help() never asks the server


def test_help_without_a_spec_says_so(rql_client: Client) -> None:
    assert "no OpenAPI spec" in rql_client.products.help()


def test_api_key_is_still_sent_with_the_spec_download(rql_service: RqlService) -> None:
    # The service wants the key on every path; a spec URL is fetched through the client's
    # own transport, auth included.
    location = rql_service.url + "/openapi.json?k=1"
    client = Client(rql_service.url, auth=API_KEY, use_specs=True, specs_location=location)
    with client:
        assert client.specs is not None
