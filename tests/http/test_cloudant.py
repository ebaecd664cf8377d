"""The Cloudant client against a local fake Cloudant (tests/http/fakes.py).

There is no Cloudant here, and its account endpoints (``/_api/v2``: CORS,
API keys, billing, usage, shared databases) exist nowhere else, so every
test in this module that sends a request runs against ``CloudantFake``
(and ``IAMFake`` for IAM tokens).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from settee import errors
from settee.auth.iam import IAMAuth
from settee.auth.schemes import BasicAuth, BearerAuth, SessionAuth
from settee.cloudant import Cloudant, cloudant, cloudant_bluemix, cloudant_iam

from .fakes import CloudantFake, IAMFake


@pytest.fixture
def iam() -> Iterator[IAMFake]:
    with IAMFake(api_key="cloudant-iam-key") as fake:
        yield fake


@pytest.fixture
def fake(iam: IAMFake) -> Iterator[CloudantFake]:
    with CloudantFake(user="acct", password="acct-pw", iam=iam) as server:
        yield server


@pytest.fixture
def client(fake: CloudantFake) -> Iterator[Cloudant]:
    c = Cloudant("acct", "acct-pw", url=fake.url)
    try:
        yield c
    finally:
        c.disconnect()


# -- construction (no requests) -------------------------------------------------------


def test_account_makes_the_url() -> None:
    c = Cloudant("acct", "pw", account="my-acct")
    assert c.url == "https://my-acct.cloudant.com"
    assert c.server_url == c.url
    assert isinstance(c.auth, SessionAuth) and not c.is_iam_authenticated
    c.backend.close()


def test_account_wins_over_url() -> None:
    c = Cloudant("acct", "pw", account="first", url="https://second.example")
    assert c.url == "https://first.cloudant.com"
    c.backend.close()


def test_url_credentials_never_shown() -> None:
    c = Cloudant("acct", "pw", url="https://u:hidden-pw@host.example:8443")
    assert c.url == "https://host.example:8443"
    assert "hidden-pw" not in repr(c)
    c.backend.close()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({}, ValueError),
        ({"account": ""}, ValueError),
        ({"account": "evil.example/x"}, ValueError),
        ({"url": 5}, TypeError),
        ({"url": "ftp://x"}, ValueError),
        ({"url": "https://h", "x_cloudant_user": 3}, TypeError),
        ({"url": "https://h", "use_iam": True, "auth": BearerAuth("t")}, TypeError),
    ],
)
def test_bad_construction(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        Cloudant("acct", "pw", **kwargs)


def test_auth_modes() -> None:
    basic = Cloudant("acct", "pw", url="https://h", use_basic_auth=True)
    assert isinstance(basic.auth, BasicAuth)
    party = Cloudant(None, None, url="https://h", admin_party=True)
    assert party.admin_party
    token = Cloudant(None, None, url="https://h", auth=BearerAuth("tok"))
    assert isinstance(token.auth, BearerAuth)
    iam = Cloudant.iam("acct", "api-key", iam_client_id="cid", iam_client_secret="cs")
    assert iam.is_iam_authenticated and iam.url == "https://acct.cloudant.com"
    assert isinstance(iam.auth, IAMAuth) and iam.auth.client_id == "cid"
    assert "api-key" not in repr(iam) + repr(iam.auth)
    with pytest.raises(TypeError):
        Cloudant.iam("acct", "")
    with pytest.raises(TypeError):
        Cloudant.iam("acct", "k", admin_party=True)
    for c in (basic, party, token, iam):
        c.backend.close()


# -- sessions, headers, IAM over the fake -----------------------------------------------


def test_cookie_session_and_x_cloudant_user(fake: CloudantFake) -> None:
    """Fake Cloudant: cookie login, then the cookie and X-Cloudant-User on every request."""
    c = Cloudant("acct", "acct-pw", url=fake.url, x_cloudant_user="someone-else")
    try:
        assert c.all_dbs() == ["animals", "plants"]
        login, listing = fake.server.requests
        assert login.route == "/_session" and login.method == "POST"
        assert listing.headers["Cookie"] == "AuthSession=cookie1"
        assert all(r.headers["X-Cloudant-User"] == "someone-else" for r in fake.server.requests)
        assert c.session_cookie() == "cookie1"
    finally:
        c.disconnect()
    assert fake.server.requests[-1].method == "DELETE"  # disconnect logs out
    assert fake.cookies == set()


def test_x_cloudant_user_is_ignored_with_an_account() -> None:
    c = Cloudant("acct", "pw", account="acct", x_cloudant_user="other")
    assert "X-Cloudant-User" not in c.r_session.headers
    c.backend.close()


def test_basic_auth_and_bad_credentials(fake: CloudantFake) -> None:
    """Fake Cloudant: basic auth accepted; a wrong password is Unauthorized."""
    good = Cloudant("acct", "acct-pw", url=fake.url, use_basic_auth=True)
    assert good.metadata()["vendor"]["name"] == "IBM Cloudant"
    assert fake.server.requests[-1].headers["Authorization"].startswith("Basic ")
    good.disconnect()
    bad = Cloudant("acct", "wrong", url=fake.url)
    with pytest.raises(errors.Unauthorized):
        bad.all_dbs()
    bad.disconnect()


def test_iam_end_to_end(fake: CloudantFake, iam: IAMFake) -> None:
    """Fake IAM token endpoint and fake Cloudant checking the bearer token."""
    c = Cloudant.iam(None, "cloudant-iam-key", url=fake.url, iam_token_url=iam.token_url)
    try:
        assert c.is_iam_authenticated
        assert c.all_dbs() == ["animals", "plants"]
        assert c.cors_origins() == ["https://a.example"]
        assert len(iam.token_requests()) == 1
        iam.revoke()
        assert c.shared_databases() == ["other/shared1", "other/shared2"]
        assert len(iam.token_requests()) == 2
    finally:
        c.disconnect()


def test_capabilities_of_cloudant(client: Cloudant) -> None:
    """Fake Cloudant's GET /: CouchDB 3 features, no _config."""
    caps = client.backend.capabilities
    assert "partitions" in caps and "db_updates" in caps and "config" not in caps


# -- CORS ------------------------------------------------------------------------------


def test_cors_read(client: Cloudant, fake: CloudantFake) -> None:
    """Fake Cloudant: GET /_api/v2/user/config/cors."""
    assert client.cors_configuration() == fake.cors
    assert client.cors_origins() == ["https://a.example"]
    assert fake.server.seen("GET", "/_api/v2/user/config/cors")


def test_cors_update_merges_origins(client: Cloudant, fake: CloudantFake) -> None:
    """Fake Cloudant: the PUT body is the merged configuration."""
    answer = client.update_cors_configuration(
        enable_cors=True, allow_credentials=False, origins=["https://b.example"]
    )
    assert answer == {"ok": True}
    put = fake.server.seen("PUT", "/_api/v2/user/config/cors")[-1]
    assert put.json() == {
        "enable_cors": True,
        "allow_credentials": False,
        "origins": ["https://a.example", "https://b.example"],
    }
    client.update_cors_configuration(origins=["https://b.example"])  # already there
    assert fake.cors["origins"] == ["https://a.example", "https://b.example"]
    client.update_cors_configuration(origins=["*"])
    assert fake.cors["origins"] == ["*"]


def test_cors_overwrite_and_disable(client: Cloudant, fake: CloudantFake) -> None:
    """Fake Cloudant: overwrite sends exactly the given values; no GET first."""
    client.update_cors_configuration(origins=["https://c.example"], overwrite_origins=True)
    assert fake.cors == {
        "enable_cors": True,
        "allow_credentials": True,
        "origins": ["https://c.example"],
    }
    assert not fake.server.seen("GET", "/_api/v2/user/config/cors")
    client.disable_cors()
    assert fake.cors == {"enable_cors": False, "allow_credentials": False, "origins": []}


def test_cors_bad_origins(client: Cloudant, fake: CloudantFake) -> None:
    before = len(fake.server.requests)
    with pytest.raises(TypeError):
        client.update_cors_configuration(origins="https://a.example")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.update_cors_configuration(origins=[1])  # type: ignore[list-item]
    assert len(fake.server.requests) == before


# -- API keys, shared databases, reports ----------------------------------------------------


def test_generate_api_key(client: Cloudant, fake: CloudantFake) -> None:
    """Fake Cloudant: POST /_api/v2/api_keys."""
    key = client.generate_api_key()
    assert key["ok"] and key["key"] and key["password"]
    assert fake.server.seen("POST", "/_api/v2/api_keys")


def test_shared_databases(client: Cloudant) -> None:
    """Fake Cloudant: GET /_api/v2/user/shared_databases."""
    assert client.shared_databases() == ["other/shared1", "other/shared2"]


REPORTS: list[tuple[str, str]] = [
    ("bill", "/_api/v2/bill"),
    ("volume_usage", "/_api/v2/usage/data_volume"),
    ("requests_usage", "/_api/v2/usage/requests"),
]


@pytest.mark.parametrize(("method", "route"), REPORTS)
def test_reports(client: Cloudant, fake: CloudantFake, method: str, route: str) -> None:
    """Fake Cloudant: the report endpoints, with and without year/month."""
    report: Callable[..., dict[str, Any]] = getattr(client, method)
    assert report() == {"report": route, "period": []}
    assert report(2014, 3) == {"report": route, "period": ["2014", "3"]}
    assert report(year=2026, month=12)["period"] == ["2026", "12"]
    assert fake.server.seen("GET", f"{route}/2014/3")


@pytest.mark.parametrize(("method", "route"), REPORTS)
@pytest.mark.parametrize(
    ("year", "month", "error"),
    [
        (2014, None, ValueError),
        (None, 1, ValueError),
        (2014, 13, ValueError),
        (2014, 0, ValueError),
        (0, 1, ValueError),
        ("2014", 1, TypeError),
        (2014, 1.0, TypeError),
        (True, 1, TypeError),
        (2014, False, TypeError),
    ],
)
def test_report_arguments_checked_before_any_request(
    client: Cloudant,
    fake: CloudantFake,
    method: str,
    route: str,
    year: Any,
    month: Any,
    error: type[Exception],
) -> None:
    """Fake Cloudant: it must see no request for a bad year/month."""
    with pytest.raises(error):
        getattr(client, method)(year, month)
    assert fake.server.requests == []


def test_endpoint_errors_are_mapped(fake: CloudantFake) -> None:
    """Fake Cloudant answering 401 to an unauthenticated report request."""
    c = Cloudant(None, None, url=fake.url, admin_party=True)
    with pytest.raises(errors.Unauthorized) as info:
        c.bill()
    assert info.value.url == f"{fake.url}/_api/v2/bill" and info.value.method == "GET"
    c.disconnect()


# -- bluemix / VCAP_SERVICES -------------------------------------------------------------------


def vcap(*instances: dict[str, Any], service: str = "cloudantNoSQLDB") -> dict[str, Any]:
    return {service: list(instances)}


def test_bluemix_username_password(fake: CloudantFake) -> None:
    """Fake Cloudant as the service URL."""
    services = vcap(
        {
            "name": "Cloudant-xy",
            "credentials": {"username": "acct", "password": "acct-pw", "url": fake.url},
        }
    )
    for given in (services, json.dumps(services)):
        c = Cloudant.bluemix(given)
        assert c.url == fake.url and isinstance(c.auth, SessionAuth)
        assert c.all_dbs() == ["animals", "plants"]
        c.disconnect()


def test_bluemix_credentials_in_the_url(fake: CloudantFake) -> None:
    """Fake Cloudant; the credentials come from the url's userinfo."""
    host = fake.url.split("://", 1)[1]
    services = vcap({"name": "one", "credentials": {"url": f"http://acct:acct-pw@{host}"}})
    c = Cloudant.bluemix(services, use_basic_auth=True)
    assert c.url == fake.url
    assert c.all_dbs() == ["animals", "plants"]
    c.disconnect()


def test_bluemix_iam(fake: CloudantFake, iam: IAMFake) -> None:
    """Fake Cloudant and fake IAM endpoint; the instance is chosen by name."""
    services = vcap(
        {"name": "other", "credentials": {"username": "x", "password": "y", "url": "https://x"}},
        {
            "name": "mine",
            "credentials": {"apikey": "cloudant-iam-key", "username": "acct", "url": fake.url},
        },
    )
    c = Cloudant.bluemix(services, "mine", iam_token_url=iam.token_url)
    assert c.is_iam_authenticated
    assert c.all_dbs() == ["animals", "plants"]
    c.disconnect()


def test_bluemix_host_and_port() -> None:
    services = vcap(
        {
            "name": "hp",
            "credentials": {"username": "u", "password": "p", "host": "h.example", "port": 8443},
        },
        service="custom",
    )
    c = Cloudant.bluemix(services, service_name="custom")
    assert c.url == "https://h.example:8443"
    c.backend.close()
    services["custom"][0]["credentials"].pop("port")
    c = Cloudant.bluemix(services, service_name="custom")
    assert c.url == "https://h.example:443"
    c.backend.close()


@pytest.mark.parametrize(
    ("services", "instance", "message"),
    [
        ("{not json", None, "not valid JSON"),
        ("[]", None, "JSON object"),
        ({"otherService": []}, None, "no 'cloudantNoSQLDB' service"),
        (
            vcap({"name": "a", "credentials": {}}, {"name": "b", "credentials": {}}),
            None,
            "pass instance_name",
        ),
        (
            vcap({"name": "a", "credentials": {"url": "https://h"}}),
            "zzz",
            "no 'cloudantNoSQLDB' instance named 'zzz'",
        ),
        (
            vcap({"name": "a", "credentials": {"username": "u", "password": "p"}}),
            None,
            "no url or host",
        ),
        (vcap({"name": "a", "credentials": {"url": "https://h", "username": "u"}}), None, "apikey"),
        (vcap({"name": "a"}), None, "no credentials"),
        (vcap({"name": "a", "credentials": {}}, {"name": "a", "credentials": {}}), "a", "several"),
    ],
)
def test_bluemix_errors(services: Any, instance: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cloudant.bluemix(services, instance)


# -- context managers ---------------------------------------------------------------------


def test_context_managers(fake: CloudantFake, iam: IAMFake) -> None:
    """Fake Cloudant (and fake IAM): connect on entry, log out and close on exit."""
    with cloudant("acct", "acct-pw", url=fake.url) as c:
        assert isinstance(c, Cloudant)
        assert fake.cookies  # connect() logged in
        assert c.session()["userCtx"]["name"] == "acct"
    assert fake.cookies == set()
    with cloudant_iam(None, "cloudant-iam-key", url=fake.url, iam_token_url=iam.token_url) as c:
        assert c.all_dbs() == ["animals", "plants"]
    services = vcap(
        {"name": "x", "credentials": {"username": "acct", "password": "acct-pw", "url": fake.url}}
    )
    with cloudant_bluemix(services) as c:
        assert c.all_dbs() == ["animals", "plants"]
