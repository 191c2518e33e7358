"""Revocation latency at the broker: time from a CRL change at the CA's URL to the first refused
handshake of the removed member, p50/p99 over N trials, and the handshake cost of the plug-in's
listener next to a plain PKIX one. The measurement is dev/tests/test_kafka_revocation.py's own
(a one-node broker of its own, certificates from Lulea's CA), repeated.

    uv run --no-sync python bench/kafka_revocation/run.py [--trials 20]

Needs `bash dev/tools.sh kafka kafka-revocation`. The plug-in alone (in-memory SSLEngine handshakes):
    cd dev/tools/kafka-revocation && mvn -q test -Dlulea.excludedGroups= -Dtest=HandshakeCostBench
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         str(REPO / "dev" / "tests" / "test_kafka_revocation.py"),
         "-k", "refused_about_one_refresh_period or handshake_cost"],
        env={**os.environ, "LULEA_REVOCATION_TRIALS": str(args.trials)},
        capture_output=True, text=True, check=False, cwd=REPO,
    )
    wanted = ("CRL change", "handshake +", "SKIPPED")
    lines = [line for line in result.stdout.splitlines()
             if line.startswith(wanted) or "passed" in line or "failed" in line]
    print("\n".join(lines) if lines else result.stdout[-4000:])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
