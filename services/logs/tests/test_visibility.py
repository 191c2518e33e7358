"""Visibility and renewal, at the unit level: the indexer asks VictoriaLogs to flush at most
once per `visibility_seconds` and only after a write; the gateway adds a live tail's defaults
only where the caller chose nothing; a renewed certificate's consumer replaces the old one."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx

from lulea.logs.gateway.app import upstream_query
from lulea.logs.indexer import Indexer
from lulea.logs.settings import IndexerSettings


class Message:
    offsets = iter(range(10**6))

    def __init__(self, value: bytes, project: str = "p1", partition: int = 0) -> None:
        self._value, self._project, self._partition = value, project, partition
        self._offset = next(Message.offsets)

    def topic(self) -> str:
        return "lulea.logs"

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def error(self) -> None:
        return None

    def headers(self) -> list[tuple[str, bytes]]:
        return [("project", self._project.encode())]

    def value(self) -> bytes:
        return self._value


class Batches:
    """A consumer handing out prepared batches, then nothing."""

    def __init__(self, batches: list[list[Message]]) -> None:
        self.batches, self.waits, self.closed = batches, [], False
        self.commits: list[dict[tuple[str, int], int]] = []

    def consume(self, _n: int, wait: float) -> list[Message]:
        self.waits.append(wait)
        return self.batches.pop(0) if self.batches else []

    def commit(self, offsets: Any = None, asynchronous: bool = True) -> None:
        self.commits.append({(tp.topic, tp.partition): tp.offset for tp in offsets})

    def close(self) -> None:
        self.closed = True


def indexer(batches: list[list[Message]], visibility: float, lag: float = 0
            ) -> tuple[Indexer, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200)

    http = httpx.Client(base_url="http://vl", transport=httpx.MockTransport(handler))
    settings = IndexerSettings(visibility_seconds=visibility, batch_wait_seconds=0.05,
                               commit_lag_seconds=lag)
    return Indexer(settings, Batches(batches), http), seen


def test_a_write_is_followed_by_one_flush_and_nothing_without_writes() -> None:
    ix, seen = indexer([[Message(b'{"msg":"a"}\n')], [Message(b'{"msg":"b"}\n')]], visibility=10)
    ix.step()  # write, flush
    assert seen == ["/insert/jsonline", "/internal/force_flush"]
    ix.step()  # write again: within the period, no flush yet
    assert seen[2:] == ["/insert/jsonline"] and ix.unflushed
    ix.flushed_at -= 11
    ix.step()  # nothing consumed, but a flush is due
    assert seen[3:] == ["/internal/force_flush"] and not ix.unflushed
    ix.step()
    assert len(seen) == 4 and ix.flushes == 2


def test_the_wait_shrinks_so_a_due_flush_is_not_late() -> None:
    ix, _ = indexer([[Message(b"x\n")], [Message(b"y\n")]], visibility=0.2)
    ix.step()
    ix.step()  # within 0.2 s of the flush: unflushed, and the next consume waits less
    ix.step()
    consumer = ix.consumer
    assert isinstance(consumer, Batches)
    assert consumer.waits[0] == 0.05 and consumer.waits[2] <= 0.2


def test_no_flush_when_visibility_is_zero() -> None:
    ix, seen = indexer([[Message(b"x\n")]], visibility=0)
    ix.step()
    assert seen == ["/insert/jsonline"]


def test_renew_closes_the_old_consumer() -> None:
    ix, _ = indexer([], visibility=0)
    old, new = ix.consumer, Batches([])
    ix.renew(new)
    assert isinstance(old, Batches) and old.closed and ix.consumer is new


def test_tail_defaults_only_where_the_caller_chose_nothing() -> None:
    assert dict(parse_qsl(upstream_query("tail", "query=x"))) == {
        "query": "x", "offset": "0s", "refresh_interval": "250ms"}
    assert dict(parse_qsl(upstream_query("tail", "query=x&offset=5s"))) == {
        "query": "x", "offset": "5s", "refresh_interval": "250ms"}
    assert upstream_query("query", "query=x") == "query=x"
    assert dict(parse_qsl(upstream_query("tail", ""))) == {"offset": "0s", "refresh_interval": "250ms"}


def test_offsets_are_committed_only_once_victorialogs_had_time_to_make_them_durable() -> None:
    first = [Message(b"a\n", partition=0), Message(b"b\n", partition=1), Message(b"c\n", partition=0)]
    second = [Message(b"d\n", partition=1)]
    ix, _ = indexer([first, second], visibility=0, lag=10)
    consumer = ix.consumer
    assert isinstance(consumer, Batches)
    ix.step()
    ix.step()
    assert consumer.commits == [] and len(ix.pending) == 2  # written, not yet durable
    written_first = ix.pending[0][0]
    ix.commit_due(now=written_first + 10)
    assert consumer.commits == [{("lulea.logs", 0): first[2].offset() + 1,
                                 ("lulea.logs", 1): first[1].offset() + 1}]
    ix.commit_due(now=written_first + 1000)  # the second batch: partition 1 moves on
    assert consumer.commits[1] == {("lulea.logs", 1): second[0].offset() + 1}
    assert not ix.pending


def test_a_renewal_commits_everything_written_before_closing() -> None:
    ix, _ = indexer([[Message(b"a\n")]], visibility=0, lag=0.05)
    ix.step()
    old = ix.consumer
    assert isinstance(old, Batches) and old.commits == []  # not durable yet
    ix.renew(Batches([]))
    assert isinstance(old, Batches) and old.closed and len(old.commits) == 1 and not ix.pending
