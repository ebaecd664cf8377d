"""Deterministic seed data (``random.Random(seed)``): same arguments, same rows."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from .models import Item, Product, Vendor
from .names import ODD_PRODUCT_NAMES as _ODD_PRODUCT_NAMES
from .names import VENDOR_NAMES as _VENDOR_NAMES

_COUNTRIES = ("US", "DE", "FR", "JP", "CN", "ES", "GR", "RU", "GB", "IT")
_CATEGORIES = ("software", "hardware", "cloud", "services", "training", "support")
_WORDS = (
    "alpha",
    "beta",
    "gamma",
    "Delta",
    "widget",
    "gizmo",
    "Ärger",
    "naïve",
    "smörgåsbord",
    "日本",
    "über",
    "x",
)
_COLORS = ("red", "green", "blue", None)
_EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)


def seed(products: int = 360, *, seed_value: int = 20261121, batch: int = 2000) -> None:
    """Create the vendors, ``products`` products and their items. Idempotent per empty DB."""
    rng = random.Random(seed_value)
    vendors = []
    for i, name in enumerate(_VENDOR_NAMES * 3):
        n = i + 1
        vendors.append(
            Vendor(
                id=f"VA-{n:04d}",
                name=name if i < len(_VENDOR_NAMES) else f"{name} {n}",
                country=rng.choice(_COUNTRIES),
                active=rng.random() < 0.8,
                rating=None if rng.random() < 0.2 else Decimal(rng.randint(100, 500)) / 100,
                founded=None
                if rng.random() < 0.25
                else date(1950, 1, 1) + timedelta(days=rng.randint(0, 26000)),
                created=_EPOCH + timedelta(seconds=rng.randint(0, 10**8)),
            )
        )
    Vendor.objects.bulk_create(vendors)

    pending: list[Product] = []
    item_rows: list[Item] = []
    for i in range(products):
        n = i + 1
        if i < len(_ODD_PRODUCT_NAMES):
            name = _ODD_PRODUCT_NAMES[i]
        else:
            name = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3))) + f" {n}"
        created = _EPOCH + timedelta(seconds=rng.randint(0, 10**8))
        color = rng.choice(_COLORS)
        pending.append(
            Product(
                id=f"PRD-{n:06d}",
                name=name,
                vendor=rng.choice(vendors),
                category=rng.choice(_CATEGORIES),
                status=rng.choices(Product.STATUSES, weights=(2, 6, 1, 1))[0],
                price=Decimal(rng.randint(0, 100000)) / 100,
                quantity=rng.randint(-5, 500),
                weight=None if rng.random() < 0.3 else round(rng.uniform(0.01, 90.0), 3),
                published=rng.random() < 0.6,
                released=None
                if rng.random() < 0.2
                else date(2015, 1, 1) + timedelta(days=rng.randint(0, 4000)),
                created=created,
                updated=created + timedelta(seconds=rng.randint(0, 10**7)),
                description=None if rng.random() < 0.25 else f"About {name}: {rng.choice(_WORDS)}",
                notes=None,
                extra={
                    "color": color,
                    "dims": {"w": rng.randint(1, 100), "h": rng.randint(1, 100)},
                    "tags": rng.sample(_WORDS, k=rng.randint(0, 3)),
                },
            )
        )
        if i < 60:
            for k in range(rng.randint(0, 4)):
                item_rows.append(
                    Item(
                        product_id=f"PRD-{n:06d}",
                        name=f"item {k + 1} of {name}",
                        sku=f"SKU-{n:06d}-{k + 1}",
                        quantity=rng.randint(1, 20),
                        unit_price=Decimal(rng.randint(1, 9999)) / 100,
                    )
                )
        if len(pending) >= batch:
            Product.objects.bulk_create(pending)
            pending = []
    Product.objects.bulk_create(pending)
    Item.objects.bulk_create(item_rows)
