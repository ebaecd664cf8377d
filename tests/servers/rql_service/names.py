"""Seed names that stress RQL quoting and URL encoding: commas, parentheses,
quotes, spaces, ``*``, ``&``, ``+``, ``%``, ``#``, non-ASCII letters.

No Django import here, so tests can share them with the seed.
"""

from __future__ import annotations

VENDOR_NAMES = (
    "Acme",
    "Müller & Söhne",
    "Ōkami, Inc.",
    "O'Reilly Media",
    'The "Best" Widgets',
    "Société Générale (Paris)",
    "北京科技",
    "Ünïcödé Ltd",
    "Star*Corp",
    "Plus+Minus",
    "100% Pure",
    "Hash#Tag",
    "Café Ñandú",
    "Zed",
    "Ελληνικά ΑΕ",  # noqa: RUF001  (deliberately non-Latin)
    "Москва ООО",  # noqa: RUF001
)

ODD_PRODUCT_NAMES = (
    "Widget, large",
    "Widget (small)",
    "Bob's widget",
    'The "quoted" one',
    "two  spaces",
    "star * light",
    "a&b",
    "1+1=2",
    "50% off",
    "#1 seller",
    "null()",
    "true",
    "123",
    "2024-01-01",
    "ends with space ",
    " leading space",
    "Ünïcödé naïve café",
    "emoji 🚀 rocket",
    "semi;colon",
    "back\\slash",
)
