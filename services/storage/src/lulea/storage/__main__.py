"""`python -m lulea.storage` serves WebHDFS over TLS; `python -m lulea.storage fsck [--repair]`
checks the namespace (exit status 1 when it is not clean); `python -m lulea.storage migrate`
makes the PostgreSQL indexes under FerretDB (which the service also makes at start)."""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
from typing import Any

from cryptography import x509

from lulea.core.auth.crl import CrlWatcher
from lulea.core.logs import setup_json_logging
from lulea.core.platform import PlatformSettings, request_identity
from lulea.core.telemetry import setup_tracing
from lulea.core.tls import serve_app
from lulea.storage.main import create_app
from lulea.storage.settings import Settings


def crl_watcher(settings: Settings, platform: PlatformSettings) -> CrlWatcher | None:
    if platform.crl_url is None or platform.trust_file is None or platform.identity_dir is None:
        return None
    chain = x509.load_pem_x509_certificates((platform.identity_dir / "tls.crt").read_bytes())
    issuer = next(c for c in chain[1:] if c.subject != c.issuer)  # the intermediate
    verify = ssl.create_default_context(cafile=str(platform.trust_file))
    return CrlWatcher(platform.crl_url, issuer, settings.crl_refresh_seconds, verify=verify)


async def serve(settings: Settings, platform: PlatformSettings) -> None:
    if settings.every_caller_is_platform:
        platform.refuse_unless_local("LULEA_STORAGE_EVERY_CALLER_IS_PLATFORM",
                                     "turns authentication and project scoping off")
    crl = None
    if platform.ca_url is not None:
        await request_identity(platform)
        crl = crl_watcher(settings, platform)
    await serve_app(create_app(settings, crl=crl), settings.host, settings.port, platform,
                    access_log=False, server_header=False)


async def run_fsck(settings: Settings, repair: bool) -> int:
    from pymongo import AsyncMongoClient

    from lulea.storage.namespace.fsck import fsck
    from lulea.storage.namespace.store import Namespace

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    try:
        namespace = Namespace(client[settings.mongo_database])
        await namespace.heartbeat()  # fsck's own writer id counts as alive
        report = await fsck(namespace, repair=repair)
        await namespace.writers.delete_one({"_id": namespace.writer})
    finally:
        await client.close()
    print(json.dumps(report.as_dict(), indent=2))
    return 0 if report.clean else 1


async def run_migrate(settings: Settings) -> int:
    from pymongo import AsyncMongoClient

    from lulea.storage.postgres_indexes import (
        NAMESPACE_INDEXES,
        custom_plans,
        ensure_collections,
        ensure_gin_indexes,
    )

    if settings.postgres_dsn is None:
        print("LULEA_STORAGE_POSTGRES_DSN is not set: nothing to do", file=sys.stderr)
        return 2
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri)
    try:
        db = client[settings.mongo_database]
        await ensure_collections(db, NAMESPACE_INDEXES)
        results = await ensure_gin_indexes(settings.postgres_dsn.get_secret_value(), db.name)
    finally:
        await client.close()
    if results is None:
        print(f"that PostgreSQL holds no FerretDB database {settings.mongo_database!r}", file=sys.stderr)
        return 1
    plans = await custom_plans(settings.postgres_dsn.get_secret_value())
    print(json.dumps({"indexes": [r.__dict__ for r in results], "plan_cache_mode": plans}, indent=2))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lulea.storage")
    sub = parser.add_subparsers(dest="command")
    check = sub.add_parser("fsck", help="report orphans and dangling references")
    check.add_argument("--repair", action="store_true", help="recompute dataset usage counters")
    sub.add_parser("migrate", help="make the PostgreSQL indexes under FerretDB (LULEA_STORAGE_POSTGRES_DSN)")
    args = parser.parse_args()
    settings = Settings()
    if args.command == "fsck":
        sys.exit(asyncio.run(run_fsck(settings, args.repair)))
    if args.command == "migrate":
        sys.exit(asyncio.run(run_migrate(settings)))
    setup_json_logging(settings.log_level)
    setup_tracing("lulea-storage")
    asyncio.run(serve(settings, PlatformSettings()))


if __name__ == "__main__":
    main()
