"""CouchDB's view collation, in pure Python.

Type order: ``null < false < true < numbers < strings < arrays < objects``.
Numbers compare by value (``1 == 1.0``); arrays element by element, a prefix
first; objects key by key (key, then value, in member order), a prefix first.

Strings approximate the ICU root collation CouchDB uses for views and Mango
(``_all_docs`` is different: it orders ids by raw code point, see
:func:`raw_key`). The approximation compares in three levels, like ICU:

1. primary: base letters without accents and case. Characters order as
   white space < punctuation and symbols (ASCII ones in ICU's order
   ``_ - , ; : ! ? . ' " ( ) [ ] { } @ * / \\ & # % ` ^ + < = > | ~ $``, others
   after them by code point) < digits < letters (Latin a-z, then other scripts
   by code point). Control characters are ignored.
2. secondary: accents (combining marks after NFD), compared left to right.
3. tertiary: case, lowercase first.

So ``a < A < aa < b < B`` and ``e < é < f``. Where it differs from real ICU:
letters without a decomposition (``ø``, ``ł``, ``æ``, ``ß``...) sort after
``z`` by code point instead of next to their base letter; non-Latin scripts
and non-ASCII symbols order by code point; contractions and expansions of the
CLDR root table, Hangul/CJK implicit weights and numeric digit values beyond
ASCII are not modelled. Canonically equivalent strings (NFC/NFD) compare equal,
as in ICU.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

__all__ = ["collate", "raw_key", "raw_sort_key", "sort_key", "string_key", "type_rank"]

# ICU root order of the ASCII punctuation and symbols (probed against ICU).
_ASCII_PUNCT = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"

# Primary weight bands; the second tuple element orders within a band.
_SPACE, _PUNCT, _DIGIT, _LATIN, _OTHER_LETTER = 1, 2, 3, 4, 5

_PUNCT_RANK = {ch: i for i, ch in enumerate(_ASCII_PUNCT)}

Key = tuple[Any, ...]


def type_rank(value: Any) -> int:
    """The JSON type's place in CouchDB's type order (0 null ... 6 object)."""
    if value is None:
        return 0
    if value is False:
        return 1
    if value is True:
        return 2
    if isinstance(value, (int, float)):
        return 3
    if isinstance(value, str):
        return 4
    if isinstance(value, (list, tuple)):
        return 5
    if isinstance(value, dict):
        return 6
    raise TypeError(f"not a JSON value: {value!r}")


def _primary(ch: str) -> tuple[int, int] | None:
    if ch in _PUNCT_RANK:
        return (_PUNCT, _PUNCT_RANK[ch])
    if "0" <= ch <= "9":
        return (_DIGIT, ord(ch))
    if "a" <= ch <= "z":
        return (_LATIN, ord(ch))
    cat = unicodedata.category(ch)
    if cat == "Cc" or cat == "Cf":
        return None  # completely ignorable in ICU
    if ch.isspace() or cat.startswith("Z"):
        return (_SPACE, ord(ch))
    if cat[0] in "PS":
        return (_PUNCT, 1000 + ord(ch))
    if cat[0] == "N":
        digit = unicodedata.digit(ch, None)
        return (_DIGIT, ord("0") + digit) if digit is not None else (_DIGIT, 1000 + ord(ch))
    return (_OTHER_LETTER, ord(ch))


@functools.lru_cache(maxsize=65536)
def string_key(text: str) -> Key:
    """A sort key for ``text`` under the ICU approximation described above."""
    primary: list[tuple[int, int]] = []
    secondary: list[tuple[int, ...]] = []
    tertiary: list[int] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.combining(ch):
            # An accent belongs to the preceding base character.
            if secondary:
                secondary[-1] = (*secondary[-1], ord(ch))
            continue
        folded = ch.lower()
        upper = 1 if folded != ch else 0
        for part in folded:
            weight = _primary(part)
            if weight is None:
                continue
            primary.append(weight)
            secondary.append(())
            tertiary.append(upper)
    return (tuple(primary), tuple(secondary), tuple(tertiary))


def sort_key(value: Any) -> Key:
    """A tuple key such that ``sort_key(a) < sort_key(b)`` iff ``a`` collates before ``b``."""
    rank = type_rank(value)
    if rank == 3:
        return (3, value)
    if rank == 4:
        return (4, string_key(value))
    if rank == 5:
        return (5, tuple(sort_key(item) for item in value))
    if rank == 6:
        return (6, tuple((string_key(k), sort_key(v)) for k, v in value.items()))
    return (rank,)


def raw_sort_key(value: Any) -> Key:
    """Like :func:`sort_key` but strings by code point (CouchDB's raw collation, used for ids)."""
    rank = type_rank(value)
    if rank == 3:
        return (3, value)
    if rank == 4:
        return (4, value)
    if rank == 5:
        return (5, tuple(raw_sort_key(item) for item in value))
    if rank == 6:
        return (6, tuple((k, raw_sort_key(v)) for k, v in value.items()))
    return (rank,)


def collate(a: Any, b: Any) -> int:
    """``-1``, ``0`` or ``1`` as ``a`` collates before, equal to or after ``b``."""
    ka, kb = sort_key(a), sort_key(b)
    return -1 if ka < kb else (1 if ka > kb else 0)


def raw_key(docid: str) -> str:
    """The ``_all_docs`` order of ids: raw code point (UTF-8 byte) order, i.e. the str itself."""
    return docid
