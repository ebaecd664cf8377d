"""ResourceSet against the real django-rql service: paging, counting, RQL, slicing, memory."""

from __future__ import annotations

import logging
import string
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settee.rest._http import encode_rql
from settee.rest.client import Client
from settee.rest.resourceset import ResourceSet, parse_content_range
from settee.rql.builder import R
from tests.rest.conftest import SEEDED_PRODUCTS, RqlService
from tests.servers.rql_service.names import ODD_PRODUCT_NAMES


class Requests(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def count(self) -> int:
        return len(self.lines)


def _counted(service: RqlService, **options: Any) -> tuple[Client, Requests]:
    handler = Requests()
    log = logging.getLogger(f"test.rs.{uuid.uuid4().hex}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    log.addHandler(handler)
    return service.client(logger=log, **options), handler


@pytest.fixture
def counted(rql_service: RqlService) -> Iterator[tuple[Client, Requests]]:
    client, handler = _counted(rql_service)
    with client:
        yield client, handler


@pytest.fixture(scope="module")
def everything(rql_service: RqlService) -> list[dict[str, Any]]:
    """Every seeded product, fetched in one page straight from the service."""
    with rql_service.client() as client:
        page = client.get("products", params={"limit": 1000})
    assert len(page) == SEEDED_PRODUCTS
    return list(page)


def test_parse_content_range() -> None:
    assert parse_content_range("items 0-99/1234") == (0, 99, 1234)
    assert parse_content_range(" items 5 - 5 / 6 ") == (5, 5, 6)
    assert parse_content_range("items 0-0/*") == (0, 0, None)
    assert parse_content_range("bytes 0-1/2") is None
    assert parse_content_range(None) is None


# -- paging ----------------------------------------------------------------------------------
def test_iteration_walks_every_page_in_order(
    counted: tuple[Client, Requests], everything: list[dict[str, Any]]
) -> None:
    client, requests = counted
    got = list(client.products.all().limit(50))
    assert got == everything
    assert requests.count == 8  # ceil(360 / 50), the last page tells the total is reached
    assert "limit=50&offset=350" in requests.lines[-1]


def test_default_limit_sets_the_page_size(rql_service: RqlService) -> None:
    client, requests = _counted(rql_service, default_limit=120)
    with client:
        assert len(list(client.products.all())) == SEEDED_PRODUCTS
    assert requests.count == 3


def test_a_server_cap_on_the_page_size_is_followed(rql_service: RqlService) -> None:
    # The service caps limit at 1000; ask for more and the walk still ends at the total.
    with rql_service.client() as client:
        rs = client.products.all().limit(5000)
        assert len(list(rs)) == SEEDED_PRODUCTS


def test_memory_stays_flat_without_resourceset_append(counted: tuple[Client, Requests]) -> None:
    client, requests = counted
    rs = client.products.all().limit(100)
    it = iter(rs)
    for _ in range(250):
        next(it)
    assert rs._cache == []  # nothing kept but the page being walked
    assert len(list(it)) == SEEDED_PRODUCTS - 250
    before = requests.count
    assert len(list(rs)) == SEEDED_PRODUCTS  # a second walk asks the server again
    assert requests.count - before == 4


def test_resourceset_append_keeps_items_and_replays_them(rql_service: RqlService) -> None:
    client, requests = _counted(rql_service, resourceset_append=True)
    with client:
        rs = client.products.all().limit(100)
        first = list(rs)
        assert len(rs._cache) == SEEDED_PRODUCTS
        before = requests.count
        assert list(rs) == first
        assert rs[123] == first[123]
        assert rs.first() == first[0]
        assert bool(rs) is True
        assert rs.count() == SEEDED_PRODUCTS
        assert requests.count == before  # all from memory


def test_resourceset_append_resumes_a_partial_walk(rql_service: RqlService) -> None:
    client, requests = _counted(rql_service, resourceset_append=True)
    with client:
        rs = client.products.all().limit(100)
        it = iter(rs)
        head = [next(it) for _ in range(150)]
        assert len(rs._cache) == 200
        full = list(rs)  # replays 200 from memory, fetches the remaining 160
        assert full[:150] == head and len(full) == SEEDED_PRODUCTS
        assert requests.count == 4


# -- count / first / bool ----------------------------------------------------------------------
def test_count_uses_one_limit_zero_request(counted: tuple[Client, Requests]) -> None:
    client, requests = counted
    assert client.products.all().count() == SEEDED_PRODUCTS
    assert requests.count == 1 and "limit=0&offset=0" in requests.lines[0]


def test_count_after_a_page_needs_no_request(counted: tuple[Client, Requests]) -> None:
    client, requests = counted
    rs = client.products.all().limit(10)
    assert rs.first() is not None
    before = requests.count
    assert rs.count() == SEEDED_PRODUCTS
    assert requests.count == before


def test_count_first_bool_of_filtered_sets(rql_client: Client, everything: list[Any]) -> None:
    drafts = [p for p in everything if p["status"] == "draft"]
    rs = rql_client.products.filter(status="draft")
    assert rs.count() == len(drafts)
    assert rs.first() == drafts[0]
    assert bool(rs) is True
    empty = rql_client.products.filter(name="no such product at all")
    assert empty.count() == 0
    assert empty.first() is None
    assert bool(empty) is False
    assert list(empty) == []


# -- building ------------------------------------------------------------------------------------
def test_builders_return_copies(rql_client: Client) -> None:
    base = rql_client.products.all()
    derived = base.filter(status="draft").order_by("-price").select("-description").limit(7)
    assert base.rql() == ""
    assert derived.rql() == "eq(status,draft)&select(-description)&ordering(-price)"
    assert derived.all() is not derived and derived.all().rql() == derived.rql()
    assert "limit=7&offset=0" in derived.url_for(7, 0)


def test_limit_is_validated(rql_client: Client) -> None:
    rs = rql_client.products.all()
    with pytest.raises(TypeError):
        rs.limit("10")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rs.limit(True)
    with pytest.raises(ValueError):
        rs.limit(0)
    with pytest.raises(ValueError):
        rs.limit(-5)


def test_filter_arguments_are_validated(rql_client: Client) -> None:
    with pytest.raises(TypeError):
        rql_client.products.filter(42)
    with pytest.raises(TypeError):
        rql_client.products.all().order_by(1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rql_client.products.all().select("a,b")
    with pytest.raises(TypeError):
        rql_client.products.all().search(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        rql_client.products.all().configure(verify=False)


def test_filters_combine_with_and(rql_client: Client, everything: list[Any]) -> None:
    expected = [
        p["id"]
        for p in everything
        if p["status"] == "published" and p["published"] and p["price"] > 500
    ]
    by_str = rql_client.products.filter("eq(status,published)", "eq(published,true)").filter(
        "gt(price,500)"
    )
    by_r = rql_client.products.filter(R().status.eq("published") & R().published.eq(True)).filter(
        R().price.gt(500)
    )
    by_kw = rql_client.products.filter(status="published", published=True, price__gt=500)
    for rs in (by_str, by_r, by_kw):
        assert [p["id"] for p in rs] == expected


def test_or_in_a_string_filter_keeps_its_meaning(rql_client: Client, everything: list[Any]) -> None:
    expected = [
        p["id"] for p in everything if p["status"] in ("draft", "retired") and p["quantity"] > 100
    ]
    rs = rql_client.products.filter("eq(status,draft)|eq(status,retired)", quantity__gt=100)
    assert [p["id"] for p in rs] == expected


def test_nested_fields_nulls_dates_and_decimals(rql_client: Client, everything: list[Any]) -> None:
    cases = [
        (R().vendor.country.eq("DE"), lambda p: p["vendor"]["country"] == "DE"),
        (R(vendor__rating__null=True), lambda p: p["vendor"]["rating"] is None),
        (R(released__null=True), lambda p: p["released"] is None),
        (R(weight__null=False), lambda p: p["weight"] is not None),
        (
            R().released.ge("2020-01-01") & R().released.lt("2021-01-01"),
            lambda p: p["released"] is not None and "2020" <= p["released"] < "2021",
        ),
        (R().price.le(10.5), lambda p: p["price"] <= 10.5),
        (R(quantity__in=(1, 2, 3, 4, 5)), lambda p: p["quantity"] in (1, 2, 3, 4, 5)),
        (
            R(category__out=("cloud", "software")),
            lambda p: p["category"] not in ("cloud", "software"),
        ),
        (R().created.gt("2022-06-01T00:00:00Z"), lambda p: p["created"] > "2022-06-01T00:00:00Z"),
        (~R().vendor.active.eq(True), lambda p: p["vendor"]["active"] is not True),
    ]
    for query, predicate in cases:
        expected = [p["id"] for p in everything if predicate(p)]
        assert expected, f"the seed must exercise {query}"
        got = [p["id"] for p in rql_client.products.filter(query).limit(1000)]
        assert got == expected, str(query)


CATS = ("software", "services", "training", "support")

ODD_NAMES = list(ODD_PRODUCT_NAMES)


@pytest.mark.parametrize("name", ODD_NAMES)
def test_awkward_values_reach_the_server_intact(rql_client: Client, name: str) -> None:
    got = rql_client.products.filter(R().name.eq(name)).values_list("name")
    assert got == [{"name": name}]
    assert rql_client.products.filter(name=name).count() == 1


def test_in_with_awkward_values(rql_client: Client) -> None:
    names = tuple(n for n in ODD_NAMES if n != "star * light")
    got = {p["name"] for p in rql_client.products.filter(name__in=names)}
    assert got == set(names)


def test_unicode_in_nested_fields(rql_client: Client, everything: list[Any]) -> None:
    expected = [p["id"] for p in everything if p["vendor"]["name"] == "Müller & Söhne"]
    assert expected
    assert [p["id"] for p in rql_client.products.filter(vendor__name="Müller & Söhne")] == expected


def test_like_and_ilike(rql_client: Client, everything: list[Any]) -> None:
    expected = [p["id"] for p in everything if p["name"].lower().startswith("widget")]
    assert [p["id"] for p in rql_client.products.filter(R().name.ilike("WIDGET*"))] == expected


def test_order_by_ascending_descending_and_nested(
    rql_client: Client, everything: list[Any]
) -> None:
    by_price = sorted(everything, key=lambda p: (-p["price"], p["id"]))
    got = list(rql_client.products.all().order_by("-price", "id").limit(70))
    assert [p["id"] for p in got] == [p["id"] for p in by_price]
    by_vendor = sorted(everything, key=lambda p: (p["vendor"]["id"], p["id"]))
    got = list(rql_client.products.all().order_by("vendor.id").order_by("id"))
    assert [p["id"] for p in got] == [p["id"] for p in by_vendor]


def test_select_leaves_fields_out(rql_client: Client) -> None:
    rs = rql_client.products.all().select("-description", "-vendor.country")
    product = rs.first()
    assert "description" not in product
    assert "country" not in product["vendor"] and "name" in product["vendor"]
    assert "description" in rql_client.products.all().first()


def test_search(rql_client: Client, everything: list[Any]) -> None:
    def matches(p: dict[str, Any], term: str) -> bool:
        return term.lower() in p["name"].lower() or term.lower() in (p["description"] or "").lower()

    for term in ("widget", "naïve", "50% off", "a&b", "Bob's"):
        expected = [p["id"] for p in everything if matches(p, term)]
        assert expected, term
        assert [p["id"] for p in rql_client.products.all().search(term)] == expected


def test_values_list_with_dot_paths(rql_client: Client, everything: list[Any]) -> None:
    got = rql_client.products.filter(category="training").values_list("id", "vendor.name")
    expected = [
        {"id": p["id"], "vendor.name": p["vendor"]["name"]}
        for p in everything
        if p["category"] == "training"
    ]
    assert got == expected
    with pytest.raises(TypeError):
        rql_client.products.all().values_list("")


def test_configure_sends_params_and_headers(
    rql_client: Client, rql_service: RqlService, everything: list[Any]
) -> None:
    rs = rql_client.products.all().configure(params={"status": "retired"}, timeout=30)
    assert [p["id"] for p in rs] == [p["id"] for p in everything if p["status"] == "retired"]
    from settee.errors import Unauthorized
    from tests.rest.conftest import API_KEY

    with Client(rql_service.url) as anonymous:
        with pytest.raises(Unauthorized):
            anonymous.products.all().first()
        keyed = anonymous.products.all().configure(headers={"Authorization": API_KEY})
        assert keyed.first() == everything[0]


# -- indexing and slicing ---------------------------------------------------------------------
def test_index(counted: tuple[Client, Requests], everything: list[Any]) -> None:
    client, requests = counted
    rs = client.products.all()
    assert rs[0] == everything[0]
    assert rs[359] == everything[359]
    assert requests.count == 2 and "limit=1&offset=359" in requests.lines[-1]
    assert rs[-1] == everything[-1]
    with pytest.raises(IndexError):
        rs[SEEDED_PRODUCTS]
    with pytest.raises(IndexError):
        rs[-SEEDED_PRODUCTS - 1]
    with pytest.raises(TypeError):
        rs["1"]  # type: ignore[call-overload]


def test_slices_are_windows(counted: tuple[Client, Requests], everything: list[Any]) -> None:
    client, requests = counted
    rs = client.products.all().limit(40)
    window = rs[95:205]
    assert isinstance(window, ResourceSet)
    assert requests.count == 0
    assert list(window) == everything[95:205]
    assert requests.count == 3  # 40 + 40 + 30
    assert window.count() == 110
    assert window[0] == everything[95]
    assert window[-1] == everything[204]
    with pytest.raises(IndexError):
        window[110]
    inner = window[10:20]
    assert list(inner) == everything[105:115]
    assert list(window[100:500]) == everything[195:205]
    assert list(rs[350:]) == everything[350:]
    assert list(rs[400:410]) == []
    assert rs[400:410].count() == 0
    assert list(rs[5:5]) == []
    assert rs[5:5].first() is None
    with pytest.raises(ValueError):
        rs[1:10:2]
    with pytest.raises(ValueError):
        rs[-5:]


def test_slice_of_a_filtered_ordered_set(rql_client: Client, everything: list[Any]) -> None:
    ordered = sorted((p for p in everything if p["published"]), key=lambda p: (p["name"], p["id"]))
    rs = rql_client.products.filter(published=True).order_by("name", "id")[10:30]
    assert [p["id"] for p in rs] == [p["id"] for p in ordered[10:30]]


# -- encoding round trips ------------------------------------------------------------------
@given(st.text())
def test_encode_rql_survives_one_unquote(text: str) -> None:
    from urllib.parse import unquote

    encoded = encode_rql(text)
    assert unquote(encoded) == text
    assert set(encoded) <= set(string.ascii_letters + string.digits + "()=,*.-_~:@!$'%")


_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: not ("'" in s and '"' in s))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_NAMES)
def test_any_string_value_filters_without_error(rql_service: RqlService, name: str) -> None:
    # Whatever the value, the server parses the query and answers exactly.
    with rql_service.client() as client:
        got = [p["name"] for p in client.products.filter(R().name.eq(name)).limit(1000)]
        assert got == [n for n in got if n == name]
        assert client.products.filter(name__in=(name, "Widget, large")).count() >= 1
