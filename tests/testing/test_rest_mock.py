"""settee.testing.RestMocker: expected REST calls by the fluent path, answered in-process.

No server is involved by design: the mocker is what a user's unit tests use
instead of one. The requests still go through settee.rest's real client,
transport, auth flow, error mapping and Content-Range paging; only the
adapter under the session answers.
"""

from __future__ import annotations

import contextlib

import pytest

import settee.rest
from settee import errors
from settee.rql import R
from settee.testing import RestMocker, UnexpectedCall
from tests.testing.conftest import PLUGIN_ARGS

ENDPOINT = "https://api.example.com/public/v1"


def test_resource_get_and_errors_by_the_fluent_path() -> None:
    with RestMocker(ENDPOINT) as mocker:
        mocker.products["PRD-1"].get(return_value={"id": "PRD-1", "name": "one"})
        mocker.products["PRD-404"].get(
            status_code=404, return_value={"error_code": "PRD_001", "errors": ["not found"]}
        )
        client = settee.rest.Client(ENDPOINT, auth="ApiKey SU-1:secret")
        assert client.products["PRD-1"].get() == {"id": "PRD-1", "name": "one"}
        with pytest.raises(errors.NotFound) as info:
            client.products["PRD-404"].get()
        assert info.value.status == 404
        assert not client.products["PRD-404"].exists()


def test_filter_mock_pages_with_content_range() -> None:
    items = [{"id": f"PRD-{i:03d}", "status": "published"} for i in range(250)]
    with RestMocker(ENDPOINT) as mocker:
        expected = (
            mocker.products.filter(status="published").order_by("-created").mock(return_value=items)
        )
        mocker.products.filter(R().status.eq("draft")).count(return_value=42)
        client = mocker.client(default_limit=100)
        published = client.products.filter(status="published").order_by("-created")
        assert list(published) == items
        assert expected.calls == 3  # three pages of 100, 100, 50
        assert [url.rsplit("&", 2)[1:] for _, url in mocker.requests] == [
            ["limit=100", "offset=0"],
            ["limit=100", "offset=100"],
            ["limit=100", "offset=200"],
        ]
        assert client.response is not None
        assert client.response.headers["Content-Range"] == "items 200-249/250"
        assert published[10:12].count() == 2
        assert client.products.filter(status="draft").count() == 42


def test_unmatched_calls_fail_loudly_even_when_caught() -> None:
    mocker = RestMocker(ENDPOINT).start()
    try:
        mocker.products["PRD-1"].get(return_value={"id": "PRD-1"})
        client = mocker.client()
        with pytest.raises(UnexpectedCall, match=r"GET .*/products/PRD-2 \(registered: GET"):
            client.products["PRD-2"].get()
        with contextlib.suppress(Exception):  # code under test swallowing it
            client.products.filter(status="x").first()
        client.products["PRD-1"].get()
    finally:
        mocker.stop()
    with pytest.raises(UnexpectedCall) as info:
        mocker.verify()
    assert "products/PRD-2" in str(info.value) and "status" in str(info.value)


def test_expected_call_never_made_fails_verify() -> None:
    with pytest.raises(UnexpectedCall, match=r"never made: POST .*/products with body"):
        with RestMocker(ENDPOINT) as mocker:
            mocker.products.create(return_value={"id": "PRD-9"}, match_body={"name": "nine"})


def test_bodies_actions_namespaces_and_sequences() -> None:
    with RestMocker(ENDPOINT) as mocker:
        mocker.products.create(return_value={"id": "PRD-9"}, match_body={"name": "nine"})
        mocker.products["PRD-9"]("endsale").post(return_value={"ok": True})
        mocker("devops").services["SRVC-1"].environments.all().mock(return_value=[{"id": "ENV-1"}])
        first = mocker.products["PRD-9"].get(return_value={"v": 1})
        mocker.products["PRD-9"].get(return_value={"v": 2})
        client = mocker.client()
        assert client.products.create({"name": "nine"}) == {"id": "PRD-9"}
        with pytest.raises(UnexpectedCall, match="with body"):
            client.products.create({"name": "other"})
        assert client.products["PRD-9"]("endsale").post() == {"ok": True}
        assert list(client("devops").services["SRVC-1"].environments.all()) == [{"id": "ENV-1"}]
        assert [client.products["PRD-9"].get()["v"] for _ in range(3)] == [1, 2, 2]
        assert first.calls == 1
        mocker._unexpected.clear()  # the refused create above was the point of the test


def test_clients_outside_the_mocker_are_not_intercepted() -> None:
    with RestMocker(ENDPOINT) as mocker:
        mocker.products["PRD-1"].get(return_value={})
        mocker.client().products["PRD-1"].get()
    after = settee.rest.Client("http://127.0.0.1:9/v1", max_retries=0, timeout=2)
    with pytest.raises(errors.TransportError):
        after.products["PRD-1"].get()


def test_fixture_verifies_at_teardown(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import settee.rest

        def test_used(settee_rest_mock):
            settee_rest_mock.products["PRD-1"].get(return_value={"id": "PRD-1"})
            client = settee.rest.Client(settee_rest_mock.endpoint, auth="ApiKey k")
            assert client.products["PRD-1"].get()["id"] == "PRD-1"

        def test_forgotten(settee_rest_mock):
            settee_rest_mock.products["PRD-2"].get(return_value={})
        """
    )
    result = inner.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*UnexpectedCall: expected call never made: GET *PRD-2*"])


def test_expect_serves_the_crud_verbs() -> None:
    with RestMocker(ENDPOINT) as mocker:
        mocker.expect("GET", "api/products/42/", return_value={"id": 42})
        mocker.expect("GET", "api/products/", params={"status": "draft"}, return_value=[{"id": 1}])
        mocker.expect("PATCH", "api/products/42/", match_body={"name": "y"}, return_value={})
        api = settee.rest.CrudClient(ENDPOINT, auth="ApiKey k")
        assert api.read("api/products/42/") == {"id": 42}
        assert api.list("api/products/", {"status": "draft"}) == [{"id": 1}]
        assert api.update("api/products/42/", {"name": "y"}) == {}
