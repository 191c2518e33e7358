"""A running stack's storage service as a bench/storage target, the way a user reaches it:
a Project with one DataOwner and a Dataset applied with kubectl, the member's client
certificate read from its `lulea-cert-<user>` Secret, mTLS to the service's TLS endpoint.

    run.py --stack DIR --target lulea          # no --url: this module prepares the target

Everything goes through kubectl and the API server (no shortcut into the database), so the
request path measured is production's: TLS, the certificate's principal, the membership cache,
the dataset's quota counters. The Project and the Dataset are left for `cleanup` to delete.
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lulea.devstack import postgres
from lulea.devstack.components import ferretdb_on_postgres
from lulea.devstack.endpoints import Stack

USER = "bench"


@dataclass(frozen=True)
class StackTarget:
    url: str
    cert: Path
    key: Path
    ca: Path
    root: str
    project: str


def postgres_dsn_of(stack: Stack) -> str | None:
    """The PostgreSQL under the stack's FerretDB, when it runs one."""
    layout = stack.layout
    return postgres.url(layout) if ferretdb_on_postgres(layout) else None


def _kubectl(stack: Stack, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([stack.kubectl, "--kubeconfig", str(stack.kubeconfig), *args], input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def prepare(stack_dir: Path, out: Path, project: str, dataset: str = "bench",
            timeout: float = 180.0) -> StackTarget:
    stack = Stack.from_endpoints(stack_dir)
    objects = [
        {"apiVersion": "lulea.io/v1alpha1", "kind": "Project", "metadata": {"name": project},
         "spec": {"description": "bench/storage", "members": [{"user": USER, "role": "DataOwner"}],
                  "quotas": {"storageBytes": 1 << 40}}},
        {"apiVersion": "lulea.io/v1alpha1", "kind": "Dataset",
         "metadata": {"name": dataset, "namespace": project},
         "spec": {"description": "bench/storage", "quota": {"bytes": 1 << 40, "files": 10_000_000}}},
    ]
    _kubectl(stack, "apply", "-f", "-", stdin=json.dumps(objects[0]))
    _kubectl(stack, "wait", "--for=condition=Ready", f"project/{project}", f"--timeout={int(timeout)}s")
    _kubectl(stack, "apply", "-f", "-", stdin=json.dumps(objects[1]))
    _kubectl(stack, "wait", "--for=condition=Ready", "-n", project, f"dataset/{dataset}",
             f"--timeout={int(timeout)}s")
    deadline = time.monotonic() + timeout
    while True:
        try:
            secret = json.loads(_kubectl(stack, "get", "secret", "-n", project, f"lulea-cert-{USER}",
                                         "-o", "json"))
            break
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in ("tls.crt", "tls.key", "ca.crt"):
        path = out / name
        path.write_bytes(base64.b64decode(secret["data"][name]))
        files[name] = path
    files["tls.key"].chmod(0o600)
    return StackTarget(url=f"{stack.storage_url}/webhdfs/v1", cert=files["tls.crt"], key=files["tls.key"],
                       ca=stack.trust_file, root=f"/Projects/{project}/{dataset}/b", project=project)


def cleanup(stack_dir: Path, project: str) -> None:
    """Delete the Project (its Dataset and tree go with it); do not wait for the reclaim."""
    stack = Stack.from_endpoints(stack_dir)
    _kubectl(stack, "delete", "project", project, "--wait=false", "--ignore-not-found")
