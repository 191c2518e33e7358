"""`python -m lulea.logs collector|indexer|gateway`: the three programs of the log path."""

from __future__ import annotations

import asyncio
import sys

USAGE = "usage: python -m lulea.logs collector|indexer|gateway"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("collector", "indexer", "gateway"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "collector":
        from lulea.logs import collector

        asyncio.run(collector.main())
    elif argv[0] == "indexer":
        from lulea.logs import indexer

        asyncio.run(indexer.main())
    else:
        from lulea.logs.gateway import main as gateway

        gateway.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
