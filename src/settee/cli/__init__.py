"""The ``settee`` command: ``commands`` parses and runs it, ``demo`` is its tour."""

from __future__ import annotations

from settee.cli.commands import default_url, main

__all__ = ["default_url", "main"]
