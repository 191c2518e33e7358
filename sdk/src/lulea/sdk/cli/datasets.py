"""`lulea datasets ls|put|get|rm`: the project's datasets on the storage service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

from lulea.sdk.cli.common import ProjectOption, fail, out, project

app = typer.Typer(help="A project's datasets (files on the storage service).", no_args_is_help=True)
CHUNK = 4 * 1024 * 1024


def _progress() -> Progress:
    return Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), transient=False)


def _copy(source: Any, target: Any, size: int | None, label: str) -> int:
    done = 0
    with _progress() as bar:
        task = bar.add_task(label, total=size)
        while chunk := source.read(CHUNK):
            target.write(chunk)
            done += len(chunk)
            bar.update(task, advance=len(chunk))
    return done


@app.command("ls")
def ls(path: Annotated[str, typer.Argument(help="Path in the project, e.g. `clicks/2026`.")] = "",
       project_name: ProjectOption = None) -> None:
    """List a dataset directory."""
    fs = project(project_name).datasets
    try:
        entries = fs.ls(path, detail=True)
    except FileNotFoundError:
        raise fail(f"no {path or '/'} in the datasets of {fs.project}") from None
    except PermissionError as exc:
        raise fail(f"not allowed to list {path or '/'}: {exc}") from None
    table = Table("type", "size", "name", box=None, show_header=False)
    for e in sorted(entries, key=lambda e: str(e["name"])):
        kind = "dir" if e.get("type") == "directory" else "file"
        table.add_row(kind, "" if kind == "dir" else str(e.get("size", "")), str(e["name"]))
    out.print(table)


@app.command()
def put(local: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
        remote: Annotated[str, typer.Argument(help="Path in the project, e.g. `ds/file.parquet`.")],
        project_name: ProjectOption = None) -> None:
    """Upload a file into a dataset."""
    fs = project(project_name).datasets
    try:
        with local.open("rb") as source, fs.open(remote, "wb") as target:
            n = _copy(source, target, local.stat().st_size, f"{local.name} → {remote}")
    except PermissionError as exc:
        raise fail(f"not allowed to write {remote}: {exc}") from None
    out.print(f"uploaded {n} bytes to {fs.project}:{remote}")


@app.command()
def get(remote: Annotated[str, typer.Argument(help="Path in the project.")],
        local: Annotated[Path, typer.Argument(dir_okay=True)],
        project_name: ProjectOption = None) -> None:
    """Download a file from a dataset."""
    fs = project(project_name).datasets
    target_path = local / Path(remote).name if local.is_dir() else local
    try:
        size = int(fs.info(remote).get("size") or 0)
        with fs.open(remote, "rb") as source, target_path.open("wb") as target:
            n = _copy(source, target, size, f"{remote} → {target_path}")
    except FileNotFoundError:
        raise fail(f"no {remote} in the datasets of {fs.project}") from None
    except PermissionError as exc:
        raise fail(f"not allowed to read {remote}: {exc}") from None
    out.print(f"downloaded {n} bytes to {target_path}")


@app.command()
def rm(remote: Annotated[str, typer.Argument(help="Path in the project.")],
       recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Remove a directory tree.")] = False,
       project_name: ProjectOption = None) -> None:
    """Remove a file (or, with -r, a directory)."""
    fs = project(project_name).datasets
    if not remote.strip("/ ."):
        raise fail("refusing to remove the project's root")
    try:
        fs.rm(remote, recursive=recursive)
    except FileNotFoundError:
        raise fail(f"no {remote} in the datasets of {fs.project}") from None
    except PermissionError as exc:
        raise fail(f"not allowed to remove {remote}: {exc}") from None
    out.print(f"removed {fs.project}:{remote}")
