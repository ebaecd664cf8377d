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

So ``a < A < aa < b < B`` and ``e < é < f``. Accents follow ICU's order of
the common Latin diacritics (``á < à < ă < â < ǎ < å < ä < ã``...); the
undecomposable Latin letters ``ø ł đ ħ ð`` and the dotless i sort as their base letter with a
secondary difference and ``æ œ ß ĳ`` as ``ae oe ss ij`` with a tertiary one;
compatibility characters (``①``, ``½``, ligatures, full-width forms) sort as
their compatibility decomposition with a tertiary difference. Canonically
equivalent strings (NFC/NFD) compare equal, as in ICU.

Where it still differs from real ICU: non-Latin scripts order by code point
within one block after Latin (ICU orders Greek < Cyrillic < ... too, but its
order inside a script and across CJK differs); non-ASCII punctuation and
symbols order by code point after the ASCII ones; rarer diacritics follow by
code point; contractions of the CLDR root table and Hangul/CJK implicit
weights are not modelled.
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
    if ch == "\u2044":  # fraction slash, from the expansion of ½ and friends
        return (_PUNCT, _PUNCT_RANK["/"])
    return (_OTHER_LETTER, ord(ch))


# ICU's secondary order of the common Latin diacritics, probed against ICU root
# (a < á < à < ă < â < ǎ < å < ä < ã < ȧ < ą < ā < ả < ạ); others follow by code point.
_MARK_RANK = {
    0x0301: 10,  # acute
    0x0300: 20,  # grave
    0x0306: 30,  # breve
    0x0302: 40,  # circumflex
    0x030C: 50,  # caron
    0x030A: 60,  # ring above
    0x0308: 70,  # diaeresis
    0x030B: 80,  # double acute
    0x0303: 90,  # tilde
    0x0307: 100,  # dot above
    0x0327: 110,  # cedilla
    0x0328: 130,  # ogonek
    0x0304: 140,  # macron
    0x0309: 150,  # hook above
    0x031B: 160,  # horn
    0x0323: 170,  # dot below
}
_STROKE, _ETH, _DOTLESS = 115, 116, 117

# Letters Unicode does not decompose but ICU sorts beside a base letter: as that
# letter with a secondary difference (ø after ö), or as an expansion with a
# tertiary one (æ just after "ae", ß just after "ss").
_LETTERS: dict[str, tuple[str, int, bool]] = {
    "ø": ("o", _STROKE, False),
    "ł": ("l", _STROKE, False),
    "đ": ("d", _STROKE, False),
    "ħ": ("h", _STROKE, False),
    "ð": ("d", _ETH, False),
    "\u0131": ("i", _DOTLESS, False),  # dotless i
    "æ": ("ae", 0, True),
    "œ": ("oe", 0, True),
    "ß": ("ss", 0, True),
    "ĳ": ("ij", 0, True),
}

# Tertiary weights: case, and whether the character is a variant (compatibility
# form or expansion) of what it sorts with.
_LOWER, _UPPER, _VARIANT_LOWER, _VARIANT_UPPER = 0, 1, 2, 3


def _units(text: str) -> list[tuple[str, bool]]:
    """NFD characters, compatibility characters (①, ½, ﬁ...) expanded and flagged."""
    out: list[tuple[str, bool]] = []
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.decomposition(ch).startswith("<"):
            out.extend((part, True) for part in unicodedata.normalize("NFKD", ch))
        else:
            out.append((ch, False))
    return out


@functools.lru_cache(maxsize=65536)
def string_key(text: str) -> Key:
    """A sort key for ``text`` under the ICU approximation described above."""
    primary: list[tuple[int, int]] = []
    secondary: list[tuple[int, ...]] = []
    tertiary: list[int] = []
    for ch, variant in _units(text):
        if unicodedata.combining(ch):
            # An accent belongs to the preceding base character.
            if secondary:
                rank = _MARK_RANK.get(ord(ch), 1000 + ord(ch))
                secondary[-1] = (*secondary[-1], rank)
            continue
        lower = ch.lower()
        upper = lower != ch
        mark = 0
        if lower in _LETTERS:
            lower, mark, expanded = _LETTERS[lower]
            variant = variant or expanded
        if variant:
            case = _VARIANT_UPPER if upper else _VARIANT_LOWER
        else:
            case = _UPPER if upper else _LOWER
        for part in lower:
            weight = _primary(part)
            if weight is None:
                continue
            primary.append(weight)
            secondary.append((mark,) if mark else ())
            tertiary.append(case)
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
