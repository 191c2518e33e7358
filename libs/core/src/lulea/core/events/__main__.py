"""`python -m lulea.core.events setup|replay`: the platform's event topics, as the Kafka admin.

    setup  --replication-factor N --min-insync-replicas M   topics and ACLs (idempotent)
    replay --group lulea-ca [--dry-run]                      parked events back on their topic

The Kafka connection comes from LULEA_KAFKA_BOOTSTRAP, LULEA_KAFKA_TRUST_FILE,
LULEA_KAFKA_CERT_FILE and LULEA_KAFKA_KEY_FILE (an administrator's certificate).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from lulea.core.events import replay, setup
from lulea.core.kafka import KafkaClient


def _kafka() -> KafkaClient:
    try:
        bootstrap = os.environ["LULEA_KAFKA_BOOTSTRAP"]
    except KeyError:
        raise SystemExit("set LULEA_KAFKA_BOOTSTRAP (and the LULEA_KAFKA_*_FILE of an admin certificate)") \
            from None
    files = [os.environ.get(f"LULEA_KAFKA_{k}_FILE") for k in ("TRUST", "CERT", "KEY")]
    if not all(files):
        return KafkaClient(bootstrap)
    return KafkaClient.from_files(bootstrap, *files)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lulea.core.events")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup", help="create the event topics and the platform's ACLs")
    s.add_argument("--replication-factor", type=int, default=3)
    s.add_argument("--min-insync-replicas", type=int, default=2)
    r = sub.add_parser("replay", help="put a consumer's parked events back on their topics")
    r.add_argument("--group", required=True, help="the consumer group whose events to replay")
    r.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.command == "setup":
        setup.run(_kafka(), setup.Durability(args.replication_factor, args.min_insync_replicas))
        return 0
    done, left = replay.replay(_kafka(), args.group, dry_run=args.dry_run)
    print(f"{'would replay' if args.dry_run else 'replayed'} {done} events for {args.group}")
    for p in left:
        print(f"left parked: offset {p.offset} from {p.origin_topic or '?'}: {p.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
