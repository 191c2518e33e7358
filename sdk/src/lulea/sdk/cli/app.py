"""`lulea`: log in as a project member, then datasets, topics and jobs from the shell.

Every error is one line on stderr saying what to do; the exit code is 1 (2 for `jobs wait
--timeout`). The SDK's own exceptions (lulea.sdk.errors) carry those messages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

import lulea.sdk
from lulea.sdk import cluster
from lulea.sdk.cli import datasets, jobs, topics
from lulea.sdk.cli.common import ProjectOption, fail, out
from lulea.sdk.config import config_dir, forget_login
from lulea.sdk.errors import LuleaError


class LuleaGroup(TyperGroup):
    """The root command: an SDK error becomes its one-line message and exit code 1."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: any of its Contexts
        try:
            return super().invoke(ctx)
        except LuleaError as exc:
            raise fail(str(exc)) from None


app = typer.Typer(name="lulea", help="Lulea from the shell: datasets, topics and jobs of your projects.",
                  cls=LuleaGroup, no_args_is_help=True, pretty_exceptions_enable=False,
                  add_completion=False)
app.add_typer(datasets.app, name="datasets")
app.add_typer(topics.app, name="topics")
app.add_typer(jobs.app, name="jobs")


@app.command()
def login(project: Annotated[str, typer.Option("--project", "-p", help="The project to log in to.")],
          kubeconfig: Annotated[Path | None, typer.Option(help="Kubeconfig (default: $KUBECONFIG, "
                                                              "~/.kube/config).")] = None,
          context: Annotated[str | None, typer.Option(help="Kubeconfig context (default: current).")] = None,
          platform_namespace: Annotated[str, typer.Option(help="Where Lulea publishes its endpoints.")]
          = cluster.PLATFORM_NAMESPACE) -> None:
    """Get a short-lived member certificate for PROJECT with your cluster credentials."""
    saved = cluster.login(project, kubeconfig=kubeconfig, context=context,
                          platform_namespace=platform_namespace, directory=config_dir())
    until = saved.certificate.not_after if saved.certificate else None
    out.print(f"logged in to [bold]{saved.project}[/] as {saved.user}"
              + (f" (certificate until {until:%Y-%m-%d %H:%M} UTC)" if until else ""), highlight=False)


@app.command()
def logout(project: Annotated[str, typer.Option("--project", "-p", help="The login to forget.")]) -> None:
    """Forget a project's saved login (its key and certificate)."""
    if not forget_login(config_dir(), project):
        raise fail(f"no saved login for {project}")
    out.print(f"logged out of {project}")


@app.command()
def whoami(project_name: ProjectOption = None) -> None:
    """Who you are in the current project, and where that comes from."""
    me = lulea.sdk.whoami(project_name)
    table = Table(box=None, show_header=False)
    for key, value in (("project", me.project), ("user", me.user), ("principal", me.principal),
                       ("job", me.job), ("from", me.source)):
        if value:
            table.add_row(key, value)
    if me.not_after is not None:
        left = me.not_after - dt.datetime.now(dt.UTC)
        state = "expired" if left.total_seconds() <= 0 else f"{left.total_seconds() / 3600:.1f} h left"
        table.add_row("certificate", f"until {me.not_after:%Y-%m-%d %H:%M} UTC ({state})")
    out.print(table)


def main() -> None:
    app()
