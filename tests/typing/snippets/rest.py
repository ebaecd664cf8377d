"""What a user's mypy sees of the REST layer: handles, the mapping view, async twins."""

from __future__ import annotations

from collections.abc import Iterator

from typing_extensions import assert_type

from settee.rest import (
    AsyncClient,
    AsyncCollection,
    AsyncResource,
    AsyncResourceSet,
    Client,
    Collection,
    Resource,
    ResourceSet,
    Specs,
    SpecValidationError,
)


def sync(client: Client) -> None:
    assert_type(client.collection("products"), Collection)
    assert_type(client.products["PRD-1"], Resource)  # the fluent form wins for [id]
    assert_type(client.products.filter(status="draft"), ResourceSet)
    assert_type(client.products.keys(), list[str])
    assert_type(client.products.keys(remote=True), Iterator[str])
    assert_type(len(client.products), int)
    assert_type("PRD-1" in client.products, bool)
    assert_type(client.products.all().count(), int)
    assert_type(client.specs, Specs | None)
    assert_type(client.help(), str)
    error = SpecValidationError("m", operation="op", field="body", reason="r")
    assert_type(error.field, str)


async def not_sync(client: AsyncClient) -> None:
    assert_type(client.collection("products"), AsyncCollection)
    assert_type(client.products["PRD-1"], AsyncResource)
    rs = client("catalog").products.filter(status="draft")
    assert_type(rs, AsyncResourceSet)
    assert_type(await rs.count(), int)
    assert_type(rs[1:3], AsyncResourceSet)
    assert_type(client.products.keys(), list[str])
    assert_type(await client.products.contains("PRD-1"), bool)
