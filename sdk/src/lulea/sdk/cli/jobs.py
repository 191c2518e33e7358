"""`lulea jobs logs|wait`: a GpuJob's output (the logs gateway) and its outcome (the API server)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from lulea.sdk import cluster
from lulea.sdk.cli.common import ProjectOption, err, fail, project
from lulea.sdk.logs import LogLine

app = typer.Typer(help="A project's GpuJobs.", no_args_is_help=True)


@app.command()
def logs(job: Annotated[str, typer.Argument(help="GpuJob name.")],
         follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
         grep: Annotated[str | None, typer.Option(help="Only lines with all these words (LogsQL).")] = None,
         since: Annotated[str | None, typer.Option(
             help="From this long ago (5m, 2h) or an RFC 3339 time.")] = None,
         pods: Annotated[bool, typer.Option(help="Prefix each line with its pod.")] = False,
         project_name: ProjectOption = None) -> None:
    """Print a job's output, oldest first; -f then follows it live."""
    current = project(project_name)

    def show(line: LogLine) -> None:
        typer.echo(f"[{line.pod}] {line.message}" if pods else line.message)

    for line in current.logs.search(grep or "", job=job, start=since):
        show(line)
    if follow:
        try:
            for line in current.logs.tail(grep or "", job=job):
                show(line)
        except KeyboardInterrupt:
            pass


@app.command()
def wait(job: Annotated[str, typer.Argument(help="GpuJob name.")],
         timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
         project_name: ProjectOption = None) -> None:
    """Wait until the job Succeeded (exit 0) or Failed (exit 1); prints its phase as it moves."""
    current = project(project_name)
    kube = cluster.saved_kube(current.config)
    deadline = None if timeout is None else time.monotonic() + timeout
    last = None
    while True:
        status = cluster.gpujob(kube, current.name, job).get("status") or {}
        phase = status.get("phase") or "Pending"
        if phase != last:
            err.print(f"{job}: {phase}" + (f" ({status['message']})" if status.get("message") else ""),
                      highlight=False)
            last = phase
        if phase == "Succeeded":
            return
        if phase == "Failed":
            raise typer.Exit(1)
        if deadline is not None and time.monotonic() >= deadline:
            raise fail(f"{job} is still {phase} after {timeout:.0f}s", code=2)
        time.sleep(1.0)
