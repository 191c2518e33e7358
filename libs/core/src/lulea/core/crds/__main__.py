"""`python -m lulea.core.crds generate [--check] [--root DIR]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lulea.core.crds.generate import drift, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lulea.core.crds")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write crds/ and charts/lulea/crds/ from the models")
    gen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the committed files differ from the models",
    )
    gen.add_argument("--root", type=Path, default=Path.cwd(), help="repository root (default: .)")
    args = parser.parse_args(argv)
    if args.check:
        diffs = drift(args.root)
        for diff in diffs:
            sys.stdout.write(diff)
        if diffs:
            print(
                "CRDs are out of date: run `uv run --no-sync python -m lulea.core.crds generate`",
                file=sys.stderr,
            )
            return 1
        print("CRDs match the models")
        return 0
    for path in write(args.root):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
