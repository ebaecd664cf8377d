"""A real Django REST Framework + django-rql service for the REST layer's tests.

See README.md in this folder for the models, fields and endpoints. Start it with
``python -m tests.servers.rql_service.serve --db PATH --seed 300 --port 0``; it
prints ``READY <port>`` on stdout once it accepts connections.
"""
