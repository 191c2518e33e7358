"""project.logs over HTTPS with the member certificate, against the gateway stand-in
(gateway_standin.py: the logs gateway's contract until services/logs is merged)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import lulea.sdk
from lulea.sdk.errors import LuleaError, NotAMember
from lulea.sdk.logs import logsql

from .conftest import ThrowawayCa
from .gateway_standin import serve

Gateway = tuple[dict[str, str], list[dict[str, str]]]


@pytest.mark.parametrize(("query", "job", "expected"), [
    ("", None, "* | sort by (_time)"),
    ("*", "train", 'job:="train" | sort by (_time)'),
    ("error disk", "etl", 'job:="etl" error disk | sort by (_time)'),
    ("error | stats count()", None, "error | stats count()"),
    ("x", 'a"b', 'job:="a\\"b" x | sort by (_time)'),
])
def test_logsql(query: str, job: str | None, expected: str) -> None:
    assert logsql(query, job) == expected


@pytest.fixture
def gateway(test_ca: ThrowawayCa, tmp_path: Path, job_env: dict[str, str]) -> Iterator[Gateway]:
    with serve(test_ca, tmp_path) as (url, seen):
        yield {**job_env, "LULEA_LOGS_URL": url}, seen


def test_search_a_jobs_lines_oldest_first(gateway: Gateway) -> None:
    env, seen = gateway
    lines = list(lulea.sdk.login(environ=env).logs.search(job="train"))
    assert [line.message for line in lines] == ["epoch 1 loss 0.3", "epoch 2 loss 0.1"]
    assert lines[0].job == "train" and lines[0].pod == "train-0" and lines[0].time.endswith("01Z")
    assert seen[-1]["query"] == 'job:="train" | sort by (_time)'


def test_search_words_and_limit(gateway: Gateway) -> None:
    env, seen = gateway
    logs = lulea.sdk.login(environ=env).logs
    assert [x.message for x in logs.search("disk")] == ["ERROR disk full"]
    assert len(list(logs.search(limit=1, start="1h"))) == 1
    assert seen[-1]["limit"] == "1" and seen[-1]["start"] == "1h"


def test_another_project_answers_not_a_member(gateway: Gateway) -> None:
    env, _ = gateway
    with pytest.raises(NotAMember, match="alice is not a member of p2; ask a DataOwner of p2"):
        list(lulea.sdk.login(environ={**env, "LULEA_PROJECT": "p2"}).logs.search())


def test_a_bad_query_says_the_gateway_refused_it(gateway: Gateway) -> None:
    env, _ = gateway
    with pytest.raises(LuleaError, match="the log query was refused: cannot parse query"):
        list(lulea.sdk.login(environ=env).logs.search("f(x"))


def test_without_a_client_certificate_the_handshake_fails(
        gateway: Gateway, cert_dir: Path) -> None:
    env, _ = gateway
    trust = ssl.create_default_context(cafile=str(cert_dir / "ca.crt"))
    with pytest.raises(httpx.TransportError):  # TLS 1.3: the server drops it after the handshake
        httpx.get(env["LULEA_LOGS_URL"] + "/projects/p1/select/logsql/query", verify=trust)
