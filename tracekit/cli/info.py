"""`tracekit schema` (the store's tables and versions) and `tracekit version`."""

from __future__ import annotations

import argparse
import platform
import urllib.parse
from pathlib import Path
from typing import Any

from tracekit import __version__
from tracekit.cli.common import common_parent, db_url, print_json, with_store
from tracekit.demo.run import sdks_available
from tracekit.store import schema
from tracekit.store.manager import TursoManager

__all__ = ["register"]

SCHEMA_EXAMPLE = """example:
  tracekit schema                 # the tables' DDL and the database's schema version
  tracekit schema --json --db http://127.0.0.1:8080
"""

VERSION_EXAMPLE = """example:
  tracekit version
  tracekit version --json
"""


def _exists(url: str) -> bool:
    if not url.startswith("file:"):
        return True
    path = urllib.parse.urlsplit(url).path
    return path == ":memory:" or Path(path).exists()


def _run_schema(args: argparse.Namespace) -> int:
    url = db_url(args.db)
    database_version = None
    if _exists(url):

        async def work(db: TursoManager) -> Any:
            rows = await db.execute("SELECT max(version) AS version FROM schema_version")
            return rows[0]["version"]

        database_version = with_store(url, work, must_exist=False)
    tables = {table.name: schema.table_ddl(table) for table in schema.metadata.sorted_tables}
    if args.json:
        print_json(
            {
                "schema_version": schema.SCHEMA_VERSION,
                "database": url,
                "database_version": database_version,
                "tables": tables,
            }
        )
        return 0
    found = "no database yet" if database_version is None else f"database at version {database_version}"
    print(f"-- tracekit schema version {schema.SCHEMA_VERSION}; {url}: {found}")
    for statements in tables.values():
        for statement in statements:
            print(statement.rstrip() + ";")
        print()
    return 0


def _run_version(args: argparse.Namespace) -> int:
    info = {
        "tracekit": __version__,
        "schema_version": schema.SCHEMA_VERSION,
        "python": platform.python_version(),
        "vendor_sdks": sdks_available(),
    }
    if args.json:
        print_json(info)
    else:
        sdks = "installed" if info["vendor_sdks"] else "not installed"
        print(
            f"tracekit {__version__} (schema {schema.SCHEMA_VERSION}, Python {info['python']}, "
            f"vendor SDKs {sdks})"
        )
    return 0


def register(commands: Any) -> None:
    """Add `schema` and `version` to the CLI's subcommands."""
    parser = commands.add_parser(
        "schema",
        parents=[common_parent()],
        help="print the store's tables (DDL) and the database's schema version",
        description="Print the DDL tracekit creates and the schema version of the database at --db "
        "(a missing file: database is not created).",
        epilog=SCHEMA_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=_run_schema)
    version = commands.add_parser(
        "version",
        parents=[common_parent()],
        help="print tracekit's version",
        description="Print the versions of tracekit, its schema and Python.",
        epilog=VERSION_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    version.set_defaults(run=_run_version)
