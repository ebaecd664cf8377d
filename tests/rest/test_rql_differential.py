"""Differential test: one RQL query, two engines, the same ids.

The seeded products of the django-rql service (tests/servers/rql_service) are
read from its REST API and loaded into a PouchDB Server database. Each query
is then sent as RQL text (``render``) to the service, where django-rql runs it
as SQL over SQLite, and as a Mango selector (``db.filter``) to PouchDB Server.
Both must select exactly the same product ids. settee's in-memory backend
(its own Mango engine, with bookmarks) is checked the same way, and Apache
CouchDB too when ``COUCHDB_URL`` is set.

What the two cannot agree on by construction is left out, and documented in
docs/rql.md: django-rql on SQLite runs ``like`` patterns with a leading or
trailing ``*`` as SQL ``LIKE`` (ASCII case-insensitive) and folds only ASCII
in ``ilike``, so ``like`` patterns here use letters whose other case does not
occur in the data, and ``ilike`` patterns are ASCII.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import settee
from settee.rql.builder import R
from settee.rql.parser import parse
from settee.rql.render import render
from tests.conftest import HTTP_SERVERS, Server, unique_name
from tests.rest.conftest import API_KEY, SEEDED_PRODUCTS
from tests.servers.rql_service.names import ODD_PRODUCT_NAMES

UTC = timezone.utc

# The seed's product names that stress quoting and encoding.
ODD_NAMES = list(ODD_PRODUCT_NAMES)


def rest_ids(base_url: str, rql: str) -> set[str]:
    """The ids django-rql selects for ``rql`` (the whole result in one page)."""
    query = quote(rql, safe="")
    url = f"{base_url}/products?{query + '&' if query else ''}limit=1000"
    response = requests.get(url, headers={"Authorization": API_KEY}, timeout=60)
    assert response.status_code == 200, (rql, response.status_code, response.text[:500])
    total = response.headers.get("Content-Range", "/0").rsplit("/", 1)[-1]
    rows = response.json()
    assert len(rows) == int(total), "more than one page: raise the limit"
    return {row["id"] for row in rows}


def couch_doc(product: dict[str, Any]) -> dict[str, Any]:
    """A product as a CouchDB document: ``_id`` is the id; datetimes in isoformat()."""
    doc = dict(product, _id=product["id"])
    for key in ("created", "updated"):
        # DRF writes UTC as "...Z"; RQL datetimes render isoformat() ("+00:00").
        doc[key] = datetime.fromisoformat(doc[key].replace("Z", "+00:00")).isoformat()
    return doc


@pytest.fixture(scope="module")
def products(rql_service_url: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{rql_service_url}/products?limit=1000", headers={"Authorization": API_KEY}, timeout=60
    )
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()
    assert len(rows) == SEEDED_PRODUCTS
    return rows


@pytest.fixture(scope="module", params=[*HTTP_SERVERS, "memory"])
def couch(
    request: pytest.FixtureRequest, products: list[dict[str, Any]]
) -> Iterator[settee.Database]:
    """The products in a fresh database: PouchDB Server, CouchDB (if configured), memory."""
    if request.param == "memory":
        client = settee.connect("memory:")
    else:
        server: Server = request.getfixturevalue(f"{request.param}_server")
        client = settee.connect(server.url, auth=server.auth)
    db = client.create_database(unique_name("rqldiff"))
    try:
        results = db.bulk_docs([couch_doc(p) for p in products])
        assert all("error" not in r for r in results)
        yield db
    finally:
        client.delete_database(db.database_name)
        client.disconnect()


def couch_ids(db: settee.Database, query: R | str) -> set[str]:
    ids = [doc["_id"] for doc in db.filter(query, page_size=75).select("_id")]
    assert len(ids) == len(set(ids)), "a document came twice"
    return set(ids)


def check(rql_service_url: str, couch: settee.Database, query: R | str) -> set[str]:
    text = query if isinstance(query, str) else render(query)
    expected = rest_ids(rql_service_url, text)
    assert couch_ids(couch, query) == expected, text
    return expected


# -- a table of queries ------------------------------------------------------------

TABLE: list[R | str] = [
    R(),
    R(status="published"),
    R().status.ne("published"),
    R().status.in_(["draft", "retired"]),
    R().status.out(["draft", "retired"]),
    R(category="cloud", status="published"),
    R(category="cloud") | R(category="training"),
    ~(R(category="cloud") | R(status="draft")),
    ~(R(category="cloud") & R(status="draft")),
    R().price.gt(500),
    R().price.le(10.5),
    R().price.ge(999.99) | R().price.lt(0.5),
    R().quantity.eq(0),
    R().quantity.lt(0),
    R().quantity.in_([1, 2, 3, 250]),
    R().quantity.out([1, 2, 3]),
    R().weight.null(),
    R().weight.null(False),
    R().weight.lt(10),  # nulls excluded on both sides
    ~R().weight.lt(10),  # nulls included on both sides
    R().weight.ne(None) & R().weight.ge(45.5),
    R().released.in_([None, date(2016, 5, 3)]) | R().weight.in_([None]),
    R().vendor.rating.out([1.5, 2.75, 4.0]),  # nulls included on both sides
    R().description.out(["About x 1", "About beta 2"]),
    R(published=True),
    R(published=False, status="published"),
    R().released.ge(date(2020, 1, 1)),
    R().released.lt(date(2016, 6, 1)) | R().released.null(),
    R().created.lt(datetime(2021, 6, 1, tzinfo=UTC)),
    R().created.ge(datetime(2022, 1, 1, tzinfo=UTC))
    & R().created.le(datetime(2022, 6, 30, 12, tzinfo=UTC)),
    R().description.null(),
    R().description.empty(),
    R().description.empty(False),
    R().notes.null(False),
    R(vendor__country="DE"),
    R(vendor__active=False),
    R().vendor.rating.gt(3),
    R().vendor.rating.null(),
    R(vendor__name="Müller & Söhne"),
    R(vendor__name="O'Reilly Media"),
    R(vendor__name='The "Best" Widgets'),
    R(vendor__name="Société Générale (Paris)"),
    R().vendor.name.in_(["Star*Corp", "Plus+Minus", "100% Pure", "Hash#Tag", "北京科技"]),
    R(id="PRD-000010"),
    R().id.in_(["PRD-000001", "PRD-000002", "PRD-000360", "PRD-999999"]),
    R().name.in_(ODD_NAMES[:10]),
    R().name.out(ODD_NAMES),
    R().name.like("Delta*"),
    R().name.like("*gizmo*"),
    R().name.like("*1"),
    R().name.like("*Ärger*"),
    R().name.like("about*") | R().description.like("About *: x"),
    R().description.like("About*: beta"),
    R().name.like("star \\* light"),
    R().name.ilike("*DELTA*"),
    R().name.ilike("widget*"),
    R().name.ilike("*X"),
    R().description.ilike("about b*"),
    # RQL text, parsed by settee and by django-rql
    "and(eq(status,published),or(lt(price,100),gt(quantity,400)))",
    "status=published&quantity=gt=300",
    "(eq(category,cloud)|eq(category,support)),eq(published,true)",
    "not(eq(status,draft))&in(category,(software,hardware))",
    "ne(price,0)&select(id,name)",
]


@pytest.mark.parametrize("query", TABLE, ids=[str(q) or "all" for q in TABLE])
def test_table(rql_service_url: str, couch: settee.Database, query: R | str) -> None:
    check(rql_service_url, couch, query)


@pytest.mark.parametrize("name", ODD_NAMES)
def test_every_odd_name_selects_exactly_itself(
    rql_service_url: str, couch: settee.Database, products: list[dict[str, Any]], name: str
) -> None:
    expected = {p["id"] for p in products if p["name"] == name}
    assert len(expected) == 1
    assert check(rql_service_url, couch, R(name=name)) == expected


def test_namespace_tuple_means_its_expansion(rql_service_url: str, couch: settee.Database) -> None:
    # django-rql's t() trips its own limit/offset reader when the URL also has
    # limit=, so the service is asked the expanded form.
    expected = rest_ids(rql_service_url, "and(eq(vendor.country,DE),eq(vendor.active,true))")
    assert 0 < len(expected) < SEEDED_PRODUCTS
    assert couch_ids(couch, "eq(vendor,t(eq(country,DE),eq(active,true)))") == expected
    negated = couch_ids(couch, "ne(vendor,t(eq(country,DE),eq(active,true)))")
    assert negated == rest_ids(rql_service_url, "or(ne(vendor.country,DE),ne(vendor.active,true))")


def test_the_table_is_not_trivial(rql_service_url: str, couch: settee.Database) -> None:
    sizes = [len(rest_ids(rql_service_url, q if isinstance(q, str) else render(q))) for q in TABLE]
    assert sum(1 for n in sizes if 0 < n < SEEDED_PRODUCTS) >= 40, sizes


def test_sorted_and_limited(rql_service_url: str, couch: settee.Database) -> None:
    couch.create_query_index(fields=["quantity"])
    # CouchDB and PouchDB only pick an index for a sort when the selector names its field.
    query = R(category="cloud") & R().quantity.ge(-1000)
    ordered = [d["_id"] for d in couch.filter(query, page_size=20).order_by("-quantity")]
    rest = requests.get(
        f"{rql_service_url}/products?"
        + quote(render(query) + "&ordering(-quantity,id)", safe="")
        + "&limit=1000",
        headers={"Authorization": API_KEY},
        timeout=60,
    ).json()
    quantities = [p["quantity"] for p in rest]
    assert quantities == sorted(quantities, reverse=True)
    by_id = {p["id"]: p["quantity"] for p in rest}
    assert set(ordered) == set(by_id)
    # ties may come in either order: compare the sort key
    assert [by_id[i] for i in ordered] == quantities
    sorted_set = couch.filter(query, page_size=4).order_by("-quantity")
    assert [d["quantity"] for d in sorted_set.limit(7)] == quantities[:7]
    assert [d["quantity"] for d in sorted_set[5:15]] == quantities[5:15]
    assert sorted_set.count() == len(quantities)


# -- generated queries -------------------------------------------------------------


def leaves(products: list[dict[str, Any]]) -> st.SearchStrategy[R]:
    def pick(field: str) -> st.SearchStrategy[Any]:
        return st.sampled_from(
            sorted({p[field] for p in products if p[field] is not None}, key=repr)
        )

    vendors = sorted({p["vendor"]["name"] for p in products})
    return st.one_of(
        st.builds(lambda v: R(status=v), pick("status")),
        st.builds(lambda v: R().category.ne(v), pick("category")),
        st.builds(
            lambda vs: R().category.in_(vs), st.lists(pick("category"), min_size=1, max_size=3)
        ),
        st.builds(lambda v: R().price.gt(v), pick("price")),
        st.builds(lambda v: R().price.le(v), pick("price")),
        st.builds(lambda v: R().quantity.ge(v), pick("quantity")),
        st.builds(
            lambda vs: R().quantity.out(vs), st.lists(pick("quantity"), min_size=1, max_size=3)
        ),
        st.builds(lambda v: R().weight.lt(v), pick("weight")),
        st.builds(lambda b: R().weight.null(b), st.booleans()),
        st.builds(lambda b: R(published=b), st.booleans()),
        st.builds(lambda v: R().released.gt(date.fromisoformat(v)), pick("released")),
        st.builds(lambda b: R().released.null(b), st.booleans()),
        st.builds(lambda v: R(name=v), pick("name")),
        st.builds(lambda v: R(vendor__name=v), st.sampled_from(vendors)),
        st.builds(lambda v: R(vendor__country=v), st.sampled_from(["DE", "US", "FR", "JP"])),
        st.builds(lambda w: R().name.like(f"*{w}*"), st.sampled_from(["gizmo", "1", "ta", "ö"])),
        st.builds(lambda w: R().name.ilike(f"{w}*"), st.sampled_from(["ALPHA", "beta", "w"])),
    )


def queries(products: list[dict[str, Any]]) -> st.SearchStrategy[R]:
    return st.recursive(
        leaves(products),
        lambda children: st.one_of(
            st.tuples(children, children).map(lambda ab: ab[0] & ab[1]),
            st.tuples(children, children).map(lambda ab: ab[0] | ab[1]),
            children.map(lambda a: ~a),
        ),
        max_leaves=5,
    )


def test_generated_queries(
    rql_service_url: str, couch: settee.Database, products: list[dict[str, Any]]
) -> None:
    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(queries(products))
    def run(query: R) -> None:
        assert parse(render(query)).where == query.node
        check(rql_service_url, couch, query)

    run()
