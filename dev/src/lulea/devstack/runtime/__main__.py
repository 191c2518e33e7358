"""`python -m lulea.devstack.runtime`: settings from LULEA_RUNTIME_*, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lulea.core.kube import Kube, connect
from lulea.core.probes import probe_server
from lulea.devstack.runtime.pods import Host
from lulea.devstack.runtime.runtime import Runtime


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LULEA_RUNTIME_", extra="forbid")

    kubeconfig: str | None = None
    """The runtime acts as every fleet node's kubelet; locally it uses the stack's admin."""
    pods_dir: Path
    """Its records: one directory per pod (volumes, container specs, exit codes)."""
    logs_dir: Path
    """CRI log files, `<logs_dir>/<ns>_<pod>_<uid>/<container>/0.log` (the logs collector reads them)."""
    pids_dir: Path | None = None
    """The stack's pids directory: every shim writes its pid there, so `lulea-stack down` stops it."""
    api_port: int | None = None
    """KUBERNETES_SERVICE_HOST/PORT for the processes (in-cluster clients find the API server)."""
    path: str = ""
    """What the processes get as PATH; empty: the platform's virtualenv first, then the system's."""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)


def base_env(settings: RuntimeSettings) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    env = {"PATH": settings.path or f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
           "LANG": os.environ.get("LANG", "C.UTF-8"), "VIRTUAL_ENV": str(Path(venv_bin).parent)}
    if settings.api_port:
        env |= {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(settings.api_port)}
    return env


async def main_async(settings: RuntimeSettings) -> None:
    api = await connect(settings.kubeconfig, pool=32)
    host = Host(settings.pods_dir, settings.logs_dir, settings.pids_dir, base_env(settings))
    runtime = Runtime(Kube(api), host)
    server = probe_server(settings.host, settings.port, lambda: (runtime.ready, "runtime"))
    probes = asyncio.create_task(server.serve())
    try:
        await runtime.run()
    finally:
        probes.cancel()
        await api.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiohttp").setLevel(logging.WARNING)
    asyncio.run(main_async(RuntimeSettings()))


if __name__ == "__main__":
    main()
