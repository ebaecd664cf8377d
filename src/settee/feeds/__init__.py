"""Change feeds: ``_changes`` and ``_db_updates``, one-off and followed.

:class:`Feed` reads one response (normal/longpoll parsed incrementally with
ijson, continuous line by line); :class:`InfiniteFeed` reconnects and resumes
from the last real seq. ``options`` validates feed options, ``parse`` the row
parsers, ``checkpoints`` where a follower keeps its position.
"""

from __future__ import annotations

from settee.feeds.checkpoints import (
    CheckpointStore,
    FileCheckpoint,
    LocalDocumentCheckpoint,
    MemoryCheckpoint,
)
from settee.feeds.feed import Feed, InfiniteFeed

__all__ = [
    "CheckpointStore",
    "Feed",
    "FileCheckpoint",
    "InfiniteFeed",
    "LocalDocumentCheckpoint",
    "MemoryCheckpoint",
]
