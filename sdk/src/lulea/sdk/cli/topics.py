"""`lulea topics produce|consume`: JSON lines in and out, Avro (the topic's schema) on the wire."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from lulea.sdk.cli.common import ProjectOption, fail, project

app = typer.Typer(help="A project's Kafka topics (Avro records as JSON lines).", no_args_is_help=True)


@app.command()
def produce(topic: Annotated[str, typer.Argument(help="Topic name, e.g. `clicks` (p1.clicks).")],
            key: Annotated[str | None, typer.Option(help="Field whose value keys each record.")] = None,
            project_name: ProjectOption = None) -> None:
    """Send one record per JSON line read from stdin."""
    kafka = project(project_name).kafka
    sent = 0
    with kafka.producer(topic) as producer:
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise fail(f"line {number} is not JSON: {exc}") from None
            if not isinstance(record, dict):
                raise fail(f"line {number} is not a JSON object")
            try:
                producer.send(record, key=str(record[key]) if key else None)
            except KeyError:
                raise fail(f"line {number} has no field {key!r} (--key)") from None
            except ValueError as exc:
                raise fail(f"line {number}: {exc}") from None
            sent += 1
    typer.echo(f"sent {sent} records to {kafka.topic(topic)}", err=True)


@app.command()
def consume(topic: Annotated[str, typer.Argument(help="Topic name, e.g. `clicks`.")],
            group: Annotated[str, typer.Option(
                "--group", "-g", help="Consumer group (inside `<project>.`).")],
            max_records: Annotated[int | None, typer.Option(
                "--max", "-n", min=1, help="Stop after N records.")] = None,
            idle: Annotated[float | None, typer.Option(
                help="Stop after this many seconds without a record.")] = None,
            project_name: ProjectOption = None) -> None:
    """Print records as JSON lines (until --max or --idle; Ctrl-C to stop)."""
    kafka = project(project_name).kafka
    with kafka.consumer(topic, group=group) as consumer:
        try:
            for record in consumer.records(max_records=max_records, idle=idle):
                typer.echo(json.dumps(record, default=str))
        except KeyboardInterrupt:
            pass
