"""Revision trees: CouchDB's per-document history of revisions.

A tree maps each known revision id (``"N-hash"``) to ``(parent, deleted)``;
``parent`` is ``None`` for a root, including the root of a branch whose
ancestors were pruned by ``revs_limit``. Leaves are revisions nobody names as
a parent. The winner is CouchDB's deterministic choice: non-deleted leaves
first, then the highest position, then the highest revision id string.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from settee.errors import BadRequest

__all__ = [
    "RevTree",
    "make_rev",
    "parse_rev",
]


def parse_rev(rev: Any) -> tuple[int, str]:
    """Split ``"N-hash"`` into ``(N, hash)``; ``BadRequest`` if it is not of that form."""
    if isinstance(rev, str):
        pos, sep, digest = rev.partition("-")
        if sep and digest and pos.isdigit() and int(pos) > 0:
            return int(pos), digest
    raise BadRequest("Invalid rev format", error="bad_request")


def make_rev(
    parent: str | None, body_json: str, deleted: bool, attachment_digests: Sequence[str]
) -> str:
    """A new revision id after ``parent``: deterministic from the content, like CouchDB's.

    ``body_json`` is the document body (without specials) as JSON text.
    """
    if not parent and not attachment_digests:  # a new document's first revision
        material = f"{int(deleted)}\x000\x00\x00{body_json}\x00"
        return f"1-{hashlib.md5(material.encode('utf-8')).hexdigest()}"
    pos, digest = parse_rev(parent) if parent else (0, "")
    material = "\x00".join(
        (str(int(deleted)), str(pos), digest, body_json, ",".join(sorted(attachment_digests)))
    )
    return f"{pos + 1}-{hashlib.md5(material.encode('utf-8')).hexdigest()}"


class RevTree:
    """One document's revision tree. Mutable; serialise with :meth:`to_json`."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: dict[str, tuple[str | None, bool]] | None = None) -> None:
        self.nodes: dict[str, tuple[str | None, bool]] = nodes if nodes is not None else {}

    # -- persistence ---------------------------------------------------------
    def to_json(self) -> list[list[Any]]:
        """A JSON-able list of ``[rev, parent, deleted]``."""
        return [[rev, parent, deleted] for rev, (parent, deleted) in self.nodes.items()]

    @classmethod
    def from_json(cls, data: Iterable[Sequence[Any]]) -> RevTree:
        """Inverse of :meth:`to_json`."""
        return cls({str(rev): (parent, bool(deleted)) for rev, parent, deleted in data})

    def copy(self) -> RevTree:
        """An independent copy."""
        return RevTree(dict(self.nodes))

    # -- queries -------------------------------------------------------------
    def __contains__(self, rev: object) -> bool:
        return rev in self.nodes

    def is_deleted(self, rev: str) -> bool:
        """Whether ``rev`` is a tombstone."""
        return self.nodes[rev][1]

    def leaves(self) -> list[str]:
        """Leaf revisions, winner first, then the others in CouchDB's order."""
        if len(self.nodes) == 1:
            return list(self.nodes)
        parents = {parent for parent, _ in self.nodes.values() if parent is not None}
        leaves = [rev for rev in self.nodes if rev not in parents]
        leaves.sort(key=self._rank, reverse=True)
        return leaves

    def _rank(self, rev: str) -> tuple[bool, int, str]:
        pos, digest = parse_rev(rev)
        return (not self.nodes[rev][1], pos, digest)

    def winner(self) -> str:
        """The winning revision (``ValueError`` on an empty tree)."""
        if not self.nodes:
            raise ValueError("empty revision tree")
        return self.leaves()[0]

    def is_leaf(self, rev: str) -> bool:
        """Whether ``rev`` is in the tree and has no children."""
        return rev in self.nodes and all(parent != rev for parent, _ in self.nodes.values())

    def path(self, rev: str) -> list[str]:
        """``rev`` and its known ancestors, newest first."""
        out: list[str] = []
        current: str | None = rev
        while current is not None and current in self.nodes:
            out.append(current)
            current = self.nodes[current][0]
        return out

    def revisions(self, rev: str) -> dict[str, Any]:
        """CouchDB's ``_revisions`` for ``rev``: ``{"start": N, "ids": [hashes newest first]}``."""
        path = self.path(rev)
        return {"start": parse_rev(rev)[0], "ids": [parse_rev(r)[1] for r in path]}

    # -- changes -------------------------------------------------------------
    def add(self, rev: str, parent: str | None, deleted: bool) -> None:
        """Add ``rev`` as a child of ``parent`` (which must be in the tree, or None)."""
        self.nodes[rev] = (parent, deleted)

    def merge_path(self, path: Sequence[str], deleted: bool) -> bool:
        """Graft ``path`` (newest first) into the tree; return whether the leaf is new.

        Revisions already known are kept; a known root whose parent the path
        names gets that parent, so replicated histories join up.
        """
        if not path:
            return False
        added = path[0] not in self.nodes
        for index in range(len(path) - 1, -1, -1):
            rev = path[index]
            parent = path[index + 1] if index + 1 < len(path) else None
            is_deleted = deleted if index == 0 else False
            if rev not in self.nodes:
                self.nodes[rev] = (parent, is_deleted)
            elif self.nodes[rev][0] is None and parent is not None:
                self.nodes[rev] = (parent, self.nodes[rev][1])
        return added

    def stem(self, limit: int) -> list[str]:
        """Keep at most ``limit`` revisions on each branch; return the revisions dropped."""
        if len(self.nodes) <= limit:
            return []  # no branch can be longer than the whole tree
        keep: set[str] = set()
        links: set[tuple[str, str]] = set()
        for leaf in self.leaves():
            kept = self.path(leaf)[:limit]
            keep.update(kept)
            links.update(itertools.pairwise(kept))
        dropped = [rev for rev in self.nodes if rev not in keep]
        for rev in dropped:
            del self.nodes[rev]
        # Like CouchDB, each branch is cut on its own: a kept revision keeps its
        # parent link only if that link lies within some branch's window.
        for rev, (parent, deleted) in list(self.nodes.items()):
            if parent is not None and (rev, parent) not in links:
                self.nodes[rev] = (None, deleted)
        return dropped
