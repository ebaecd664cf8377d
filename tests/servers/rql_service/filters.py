"""django-rql filter classes: which fields filter, order, search and select."""

from __future__ import annotations

from dj_rql.filter_cls import RQLFilterClass
from dj_rql.qs import NSR

from .models import Item, Product, Vendor


def _f(name: str, *, search: bool = False) -> dict[str, object]:
    return {"filter": name, "ordering": True, "search": search}


class VendorFilters(RQLFilterClass):
    MODEL = Vendor
    SELECT = True
    FILTERS = (
        _f("id"),
        _f("name", search=True),
        _f("country"),
        _f("active"),
        _f("rating"),
        _f("founded"),
        _f("created"),
    )


class ProductFilters(RQLFilterClass):
    MODEL = Product
    SELECT = True
    MAX_ORDERING_LENGTH_IN_QUERY = 5
    FILTERS = (
        _f("id"),
        _f("name", search=True),
        _f("category"),
        _f("status"),
        _f("price"),
        _f("quantity"),
        _f("weight"),
        _f("published"),
        _f("released"),
        _f("created"),
        _f("updated"),
        _f("description", search=True),
        _f("notes"),
        {
            "namespace": "vendor",
            "qs": NSR("vendor"),
            "filters": (_f("id"), _f("name"), _f("country"), _f("active"), _f("rating")),
        },
    )


class ItemFilters(RQLFilterClass):
    MODEL = Item
    SELECT = True
    FILTERS = (_f("id"), _f("name", search=True), _f("sku"), _f("quantity"), _f("unit_price"))
