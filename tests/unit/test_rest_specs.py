"""The OpenAPI spec engine (settee.rest.specs) and the REST paging plan, without a server.

The django-rql service's spec (tests/rest/test_specs.py) has no ``servers``, no
``$ref`` parameters and is OpenAPI 3.0; these small documents cover the rest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from settee.rest import Client, ResourceSet, SpecValidationError
from settee.rest.specs import parse_specs, read_specs_file

CONNECT_LIKE = """
openapi: 3.0.3
info: {title: connect-like, version: "1"}
servers:
  - url: https://api.example.com/public/v1
components:
  parameters:
    Limit:
      name: limit
      in: query
      schema: {type: integer, minimum: 1, maximum: 1000}
  schemas:
    Product:
      type: object
      required: [name]
      properties:
        name: {type: string}
        notes: {type: string, nullable: true}
        secret: {type: string, writeOnly: true}
paths:
  /products:
    parameters:
      - $ref: '#/components/parameters/Limit'
    get:
      operationId: listProducts
      summary: List products
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {$ref: '#/components/schemas/Product'}}
    post:
      operationId: createProduct
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Product'}
      responses:
        "201": {$ref: '#/components/responses/Created'}
  /products/stats:
    get: {operationId: productStats, responses: {"200": {description: ok}}}
  /products/{id}:
    get:
      operationId: getProduct
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, pattern: '^PRD-'}}
        - {name: expand, in: query, required: true, schema: {type: boolean}}
      responses: {"200": {description: ok}}
"""


def _with_responses(text: str) -> str:
    return text.replace(
        "components:\n",
        "components:\n  responses:\n    Created:\n      description: created\n"
        "      content:\n        application/json:\n"
        "          schema: {$ref: '#/components/schemas/Product'}\n",
        1,
    )


@pytest.fixture(scope="module")
def specs() -> Any:
    return parse_specs(_with_responses(CONNECT_LIKE), location="connect-like.yaml")


def test_paths_match_below_the_server_url_and_literals_win(specs: Any) -> None:
    assert specs.base_path == "/public/v1"
    assert specs.match("/public/v1/products/stats")[0] == "/products/stats"
    template, _, values = specs.match("/public/v1/products/PRD-1")
    assert template == "/products/{id}" and values == {"id": "PRD-1"}
    assert specs.match("/public/v1/products/a%2Fb")[2] == {"id": "a/b"}  # one segment
    assert specs.match("/products") is None  # not under the server's path
    assert specs.match("/public/v1/nope") is None
    assert specs.has_prefix("/public/v1/products/PRD-1")
    assert not specs.has_prefix("/public/v1/vendors")


def test_ref_parameters_on_the_path_item_are_checked(specs: Any) -> None:
    url = "https://api.example.com/public/v1/products"
    assert specs.check_request("GET", url + "?limit=10", None, has_body=False).name == (
        "listProducts"
    )
    with pytest.raises(SpecValidationError) as info:
        specs.check_request("GET", url + "?limit=5000", None, has_body=False)
    assert info.value.field == "query.limit" and "maximum" in info.value.reason
    # RQL terms are not parameters: left alone
    specs.check_request("GET", url + "?eq(name,x)&limit=1", None, has_body=False)


def test_required_query_and_path_patterns(specs: Any) -> None:
    url = "https://api.example.com/public/v1/products/"
    with pytest.raises(SpecValidationError) as info:
        specs.check_request("GET", url + "PRD-1", None, has_body=False)
    assert info.value.field == "query.expand" and info.value.reason == "required"
    specs.check_request("GET", url + "PRD-1?expand=true", None, has_body=False)
    with pytest.raises(SpecValidationError) as info:
        specs.check_request("GET", url + "PRD-1?expand=maybe", None, has_body=False)
    assert info.value.field == "query.expand"
    with pytest.raises(SpecValidationError) as info:
        specs.check_request("GET", url + "VND-1?expand=true", None, has_body=False)
    assert info.value.operation == "getProduct" and info.value.field == "path.id"


def test_bodies_nullable_and_required(specs: Any) -> None:
    url = "https://api.example.com/public/v1/products"
    op = specs.check_request("POST", url, {"name": "a", "notes": None}, has_body=True)
    with pytest.raises(SpecValidationError) as info:
        specs.check_request("POST", url, None, has_body=False)
    assert info.value.field == "body" and info.value.reason == "required"
    with pytest.raises(SpecValidationError) as info:
        specs.check_request("POST", url, {"notes": 3}, has_body=True)
    assert info.value.field in ("body", "body.notes")
    with pytest.raises(SpecValidationError) as info:
        specs.check_request("DELETE", url, None, has_body=False)
    assert info.value.field == "method" and "GET, POST" in str(info.value)
    # answers: a $ref response; writeOnly fields must not come back
    specs.check_response(op, 201, {"name": "a"})
    with pytest.raises(SpecValidationError) as info:
        specs.check_response(op, 201, {"name": "a", "secret": "s"})
    assert info.value.field == "response.secret"


def test_describe_lists_operations_parameters_and_bodies(specs: Any) -> None:
    text = specs.describe("/public/v1/products", title="products")
    assert text.splitlines()[0] == "products"
    assert "GET     /public/v1/products  [listProducts]  List products" in text
    assert "    limit (query, integer)" in text
    assert "    body (application/json, required): name*, notes, secret" in text
    assert "[getProduct]" in text and "expand (query, boolean, required)" in text
    only = specs.describe("/public/v1/products", exact=True)
    assert "[getProduct]" not in only
    assert "no operation here" in specs.describe("/public/v1/vendors")


def test_openapi_31_uses_json_schema_2020_12() -> None:
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"type": ["string", "null"], "maxLength": 3}
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
    specs = parse_specs(json.dumps(doc))
    assert specs.check_request("POST", "http://h/things", None, has_body=True).name == (
        "POST /things"
    )
    specs.check_request("POST", "http://h/things", "abc", has_body=True)
    with pytest.raises(SpecValidationError) as info:
        specs.check_request("POST", "http://h/things", "abcd", has_body=True)
    assert info.value.operation == "POST /things" and info.value.field == "body"


def test_a_file_is_parsed_once_per_version(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(_with_responses(CONNECT_LIKE))
    first = read_specs_file(path)
    assert read_specs_file(str(path)) is first
    path.write_text(_with_responses(CONNECT_LIKE) + "\n# changed, and longer\n")
    assert read_specs_file(path) is not first


def test_a_client_refuses_off_spec_calls_before_opening_a_connection(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: nothing listens; a request would be a TransportError.
    path = tmp_path / "spec.yaml"
    path.write_text(
        _with_responses(CONNECT_LIKE).replace(
            "https://api.example.com/public/v1", "http://127.0.0.1:9/public/v1"
        )
    )
    client = Client("http://127.0.0.1:9/public/v1", use_specs=True, specs_location=path)
    with pytest.raises(SpecValidationError):
        client.products.create({"notes": "no name"})
    with pytest.raises(SpecValidationError):
        client.vendors  # noqa: B018
    assert client.response is None  # nothing was sent


def test_the_paging_plan_follows_the_total_and_short_pages() -> None:
    client = Client("http://127.0.0.1:9/public/v1", default_limit=10)
    rs = ResourceSet(client, client.endpoint + "/products")
    plan = rs._plan(0)
    assert next(plan) == (10, 0)
    assert plan.send((list(range(10)), 25)) == (10, 10)
    assert plan.send((list(range(8)), 25)) == (10, 18)  # a capped page: go by the total
    with pytest.raises(StopIteration):
        plan.send((list(range(7)), 25))
    plan = rs._plan(0)
    next(plan)
    with pytest.raises(StopIteration):
        plan.send((list(range(4)), None))  # no total: a short page is the last
    window = rs[5:12]._plan(5)
    assert next(window) == (7, 5)
    with pytest.raises(StopIteration):
        window.send((list(range(7)), 100))
