"""The local engine shared by the memory and SQLite backends.

``engine`` holds CouchDB's database logic over a small storage interface
(``storage``); ``revtree`` the revision trees, ``collation`` CouchDB's view
collation, ``mango`` selector evaluation, ``views`` Python map/reduce and
``changes`` the change-feed stream with blocking waits.
"""
