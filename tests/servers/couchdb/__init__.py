"""Apache CouchDB for the suite: a single node and a 3-node loopback cluster.

:func:`launcher.launch` starts them from a CouchDB installation
(``SETTEE_COUCHDB_HOME``) into a temporary directory of their own; see
``launcher.py``. By hand: ``python -m tests.servers.couchdb.launcher --home
/opt/couchdb --nodes 3`` prints the URL and runs until Ctrl-C.
"""
