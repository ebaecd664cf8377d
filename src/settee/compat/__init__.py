"""Compatibility packages: other clients' public APIs on settee's core.

:mod:`settee.compat.cloudant` is python-cloudant 2.15's, module by module:
change ``from cloudant.client import CouchDB`` to
``from settee.compat.cloudant.client import CouchDB`` and nothing else.
"""

from __future__ import annotations

__all__: list[str] = []
