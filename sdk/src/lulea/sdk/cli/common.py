"""What every command shares: the project option, the Rich consoles, errors that say what to do."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

import lulea.sdk
from lulea.sdk.project import Project

out = Console()
err = Console(stderr=True)

ProjectOption = Annotated[str | None, typer.Option(
    "--project", "-p", help="Project to act in (default: the job's, or the last `lulea login`).",
    show_default=False)]


def project(name: str | None) -> Project:
    return lulea.sdk.login(name)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)
