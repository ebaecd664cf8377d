"""python-cloudant's ``cloudant.adapters``: :class:`Replay429Adapter`.

The adapter lives in :mod:`settee.http.retry` (only settee's HTTP layer
touches requests); mount it with ``CouchDB(..., adapter=Replay429Adapter())``.
"""

from __future__ import annotations

from settee.http.retry import Replay429Adapter

__all__ = ["Replay429Adapter"]
