"""Lazy result sets: key-paged (limit+1) rows and the one Mango bookmark pager.

:class:`Result` / :class:`ResultByKey` page ``_all_docs`` and views by
``startkey``/``startkey_docid``; :class:`QueryResult` pages ``_find`` by
bookmark. Nothing here performs I/O itself: each holds a fetch function.
"""

from __future__ import annotations

from settee.pages.bookmarks import QueryResult
from settee.pages.keys import Result, ResultByKey
from settee.pages.paging import DEFAULT_PAGE_SIZE

__all__ = ["DEFAULT_PAGE_SIZE", "QueryResult", "Result", "ResultByKey"]
