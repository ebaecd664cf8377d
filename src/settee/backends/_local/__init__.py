"""The local engine shared by the memory and SQLite backends.

* ``engine`` — CouchDB's document semantics (writes, reads, revision trees,
  local documents, attachments, administration) over a storage;
* ``query`` — ``_all_docs``, Mango ``_find`` and indexes, Python views;
* ``attachments`` — inline attachments, stubs, the standalone calls;
* ``changes`` — the changes feed, with blocking waits for longpoll/continuous;
* ``storage`` — the storage interface and the in-memory storage;
  ``sqlstore`` — the SQLite storage;
* ``revtree``, ``collation``, ``mango``, ``views`` — pure logic, no I/O;
* ``util`` — parameters, JSON and CouchDB's error shapes;
* ``backend`` — the :class:`~settee.backends.base.Backend` protocol on top.
"""
