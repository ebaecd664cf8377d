"""The local engine shared by the memory and SQLite backends.

* ``engine`` — the :class:`~.engine.Engine`, CouchDB's semantics over a storage,
  assembled from one mixin per concept: ``state`` (storage, view cache, shared
  lookups), ``reads`` (documents, ``open_revs``), ``writes`` (``bulk_docs``, new
  edits and replicated revisions, ``revs_diff``), ``local_docs`` (``_local/``
  documents), ``admin`` (databases, security, ``revs_limit``, compaction, partitions);
* ``all_docs``, ``find`` (Mango ``_find``), ``indexes`` (Mango indexes),
  ``python_views`` — the queries, functions taking the engine first;
* ``attachments`` — inline attachments, stubs, the standalone calls;
* ``changes`` — the changes feed, with blocking waits for longpoll/continuous;
* ``storage`` — the storage interface and the in-memory storage;
  ``sqlstore`` — the SQLite storage;
* ``revtree``, ``collation``, ``mango``, ``views`` — pure logic, no I/O;
* ``util`` — parameters, JSON and CouchDB's error shapes;
* ``backend`` — the :class:`~settee.backends.base.Backend` protocol on top.
"""
