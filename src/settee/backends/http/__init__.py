"""The HTTP backend: Apache CouchDB, Cloudant and PouchDB Server.

``backend`` answers the :class:`~settee.backends.base.Backend` primitives over
:class:`~settee.http.Transport`; ``changes`` streams ``_changes`` and
``_db_updates``; ``support`` encodes query parameters and knows each server
kind's capabilities.
"""

from __future__ import annotations

from settee.backends.http.backend import HTTPBackend
from settee.backends.http.support import capabilities_for, encode_params

__all__ = ["HTTPBackend", "capabilities_for", "encode_params"]
