"""The project's Kafka names and the raw configuration (no broker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import lulea.sdk
from lulea.sdk.kafka import Kafka


@pytest.fixture
def kafka(job_env: dict[str, str]) -> Kafka:
    return lulea.sdk.login(environ=job_env).kafka


@pytest.mark.parametrize(("name", "topic", "subject"), [
    ("clicks", "p1.clicks", "p1.clicks-value"),
    ("p2.events", "p2.events", "p2.events-value"),  # a topic another project shared: its full name
])
def test_topic_names(kafka: Kafka, name: str, topic: str, subject: str) -> None:
    assert kafka.topic(name) == topic
    assert kafka.subject(name) == subject


@pytest.mark.parametrize(("group", "expected"), [
    ("analytics", "p1.analytics"), ("p1.analytics", "p1.analytics"), ("p2.x", "p1.p2.x")])
def test_groups_are_always_inside_the_project_prefix(kafka: Kafka, group: str, expected: str) -> None:
    assert kafka.group(group) == expected


@pytest.mark.parametrize("bad", ["", None])
def test_empty_names_are_refused(kafka: Kafka, bad: str | None) -> None:
    with pytest.raises(ValueError):
        kafka.topic(bad or "")


def test_config_is_the_member_listener_with_the_member_certificate(kafka: Kafka, cert_dir: Path) -> None:
    conf = kafka.config(**{"linger.ms": 1})
    assert conf == {
        "bootstrap.servers": "127.0.0.1:9093", "security.protocol": "SSL",
        "ssl.ca.location": str(cert_dir / "ca.crt"), "ssl.certificate.location": str(cert_dir / "tls.crt"),
        "ssl.key.location": str(cert_dir / "tls.key"), "ssl.endpoint.identification.algorithm": "https",
        "client.id": "p1__alice", "linger.ms": 1,
    }
    assert kafka.registry_config()["url"] == "https://127.0.0.1:8081"


def test_no_certificate_says_log_in(job_env: dict[str, str]) -> None:
    del job_env["LULEA_CERT_DIR"]
    with pytest.raises(lulea.sdk.NotConfigured, match="lulea login"):
        lulea.sdk.login(environ=job_env).kafka.config()
