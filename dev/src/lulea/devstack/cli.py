"""`lulea-stack up|down|status`: the local platform from the command line (what `make up` runs)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from lulea.devstack import stack
from lulea.devstack.layout import DEFAULT_PORT_BASE, DEV, REPO, Layout, tool_paths
from lulea.devstack.process import StackError


def layout_from(args: argparse.Namespace) -> Layout:
    return Layout(
        state_dir=Path(args.state_dir).resolve(),
        port_base=args.port_base,
        fleet_file=Path(args.fleet).resolve(),
        tools=tool_paths(),
    )


def _summary(endpoints: dict[str, object], seconds: float) -> str:
    logs = endpoints["logs"]
    return "\n".join([
        f"Lulea local platform is up ({seconds:.1f}s)",
        f"  Kubernetes API  {endpoints['api_server']}",
        f"  kubectl         kubectl --kubeconfig {endpoints['kubeconfig']} get nodes",
        f"  as a person     kubectl --kubeconfig {Path(str(endpoints['kubeconfig'])).parent}"
        "/kubeconfig-alice ...",
        f"  Kafka           {endpoints['kafka_bootstrap']} (PLAINTEXT), "
        f"{endpoints.get('kafka_ssl_bootstrap') or 'no'} (mTLS)",
        f"  MongoDB wire    {endpoints['mongo_uri']} (FerretDB)",
        f"  CA              {endpoints['ca_url']} (GET /ca, /crl)",
        f"  schema registry {endpoints['schema_registry_url']} (Confluent API)",
        f"  GPU placement   {endpoints['placement_url']} (/readyz: leader or standby, /metrics)",
        f"  fake GPU nodes  {endpoints.get('nodes', 0)}; CRDs installed: {endpoints.get('crds', 0)}",
        f"  logs            {logs}",
        f"  endpoints       {endpoints['state_dir']}/endpoints.json",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lulea-stack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", default=os.environ.get("LULEA_STATE_DIR", REPO / ".lulea"))
    parser.add_argument("--port-base", type=int,
                        default=int(os.environ.get("LULEA_PORT_BASE", DEFAULT_PORT_BASE)))
    parser.add_argument("--no-crds", action="store_true",
                        help="up: skip installing the CRDs and starting the operators")
    parser.add_argument("--fleet", default=os.environ.get("LULEA_FLEET", DEV / "fleet.yaml"))
    args = parser.parse_args(argv)
    layout = layout_from(args)
    try:
        if args.command == "up":
            t0 = time.monotonic()
            endpoints = stack.up(layout, crds=not args.no_crds)
            print(_summary(endpoints, time.monotonic() - t0))
        elif args.command == "down":
            stopped = stack.down(layout)
            print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
        else:
            reports = stack.status(layout)
            for r in reports:
                state = "ready" if r.ready else ("running, NOT ready" if r.running else "stopped")
                print(f"  {r.name:<26} {state:<20} pid {r.pid or '-'}")
            healthy = all(r.ready for r in reports)
            print("all components healthy" if healthy else "some components are not healthy")
            return 0 if healthy else 1
    except StackError as e:
        print(f"lulea-stack: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
