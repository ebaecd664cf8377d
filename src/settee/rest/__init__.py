"""The REST resource layer for RQL-speaking APIs (CloudBlue Connect style) and CRUD verbs.

::

    from settee.rest import Client
    from settee.auth import ApiKeyAuth

    client = Client("https://api.example.com/public/v1", auth=ApiKeyAuth("ApiKey SU-...:..."))
    for product in client.products.filter(status="published").order_by("-created"):
        ...
    client.crud("api/products/").get_all({"status": "draft"})

    async with await AsyncClient.open(url, auth=key) as aclient:   # the `async` extra
        product = await aclient.products["PRD-1"].get()

See docs/rest.md.
"""

from __future__ import annotations

from settee.auth.oauth2 import OAuth2AuthorizationCode, OAuth2ClientCredentials, OAuth2Password
from settee.auth.schemes import ApiKeyAuth, BearerAuth
from settee.rest._http import RestRetryPolicy
from settee.rest.client import NS, Action, Client, Collection, CrudClient, Resource
from settee.rest.crud import Endpoint, HeadResult
from settee.rest.resourceset import ResourceSet, parse_content_range
from settee.rest.specs import Specs, SpecValidationError

try:  # the async client needs the `async` extra (aiohttp)
    from settee.rest.aio import (
        AsyncAction,
        AsyncClient,
        AsyncCollection,
        AsyncEndpoint,
        AsyncNS,
        AsyncResource,
        AsyncResourceSet,
    )
except ImportError as exc:  # pragma: no cover - the test extra installs aiohttp
    if exc.name not in ("aiohttp", "yarl"):
        raise

__all__ = [
    "NS",
    "Action",
    "ApiKeyAuth",
    "AsyncAction",
    "AsyncClient",
    "AsyncCollection",
    "AsyncEndpoint",
    "AsyncNS",
    "AsyncResource",
    "AsyncResourceSet",
    "BearerAuth",
    "Client",
    "Collection",
    "CrudClient",
    "Endpoint",
    "HeadResult",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "OAuth2Password",
    "Resource",
    "ResourceSet",
    "RestRetryPolicy",
    "SpecValidationError",
    "Specs",
    "parse_content_range",
]
