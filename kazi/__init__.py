"""The wiring package: the only code that imports every domain.

It holds the app factory (``kazi.app.create_app``), the command line
(``kazi.cli``), the registry of every table for Alembic and the tests
(``kazi.tables``), the health probes (``kazi.health``) and the intent host that
carries out the flow engine's intents with the domains' services
(``kazi.intent_host``). Nothing imports this package except ``wsgi.py``,
migrations, benchmarks and tests.
"""
