"""The local engine shared by the memory and SQLite backends.

* ``backend`` — :class:`~.backend.LocalBackend`, the engine itself: the
  :class:`~settee.backends.base.Backend` protocol over a storage; it does the
  server and database administration and calls the modules below for the rest;
* ``state`` — what they all share: the storage, the view cache, database lookups;
* ``reads`` (documents, ``open_revs``), ``writes`` (``bulk_docs``, new edits and
  replicated revisions, ``revs_diff``), ``local_docs`` (``_local/`` documents);
* ``all_docs``, ``find`` (Mango ``_find``), ``indexes`` (Mango indexes),
  ``python_views`` — the queries;
* ``attachments`` — inline attachments and stubs (their stored form);
* ``changes`` — the changes feed, with blocking waits for longpoll/continuous;
* ``storage`` — the storage interface and the in-memory storage;
  ``sqlstore`` — the SQLite storage;
* ``revtree``, ``collation``, ``mango``, ``views`` — pure logic, no I/O;
* ``util`` — parameters, JSON and CouchDB's error shapes.
"""
