"""Which pass of the suite this is: the default one (SQLite, every test) or the second pass
on PostgreSQL that .ci/run runs beside it with HUB_TEST_DATABASE_ONLY=1 (tests/conftest.py)."""

from __future__ import annotations

import os

# a PostgreSQL server URL: the suite's databases are made there instead of SQLite files
PG_URL = os.environ.get("HUB_TEST_DATABASE_URL", "")
# the second pass runs only what a database can change; the first pass runs everything
DATABASE_TESTS_ONLY = bool(PG_URL) and os.environ.get("HUB_TEST_DATABASE_ONLY", "") not in ("", "0")
