"""Apache Kafka in KRaft mode: one process that is both controller and broker.

The runtime classpath comes from Maven Central (dev/tools/kafka/pom.xml). The authorizer is on
from the start so that project ACLs mean something: the platform's PLAINTEXT listener and the
controller connect as ANONYMOUS, a super user; mTLS clients (when the CA has issued the broker a
certificate, see `broker_tls`) are `User:<CN>` and get only what ACLs grant them.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from lulea.devstack.layout import Layout
from lulea.devstack.process import StackError

LOG4J2 = """\
status = warn
rootLogger.level = info
rootLogger.appenderRef.file.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = kafka
logger.kafka.level = warn
logger.kafka_server.name = kafka.server.KafkaRaftServer
logger.kafka_server.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = warn
"""


def _dir(layout: Layout) -> Path:
    return layout.state_dir / "kafka"


def broker_tls(layout: Layout) -> Path | None:
    """The broker's PEM keystore (key + chain), if the CA has issued the broker a certificate."""
    keystore = layout.pki / "kafka" / "kafka-broker.keystore.pem"
    return keystore if keystore.exists() else None


def ca_dir(layout: Layout) -> Path:
    return layout.pki / "lulea-ca"


def issue_broker_certificate(layout: Layout) -> None:
    """With the CA installed (services/ca), create the platform's root and intermediate once and
    have the intermediate issue the broker's server certificate for the mTLS listener."""
    if importlib.util.find_spec("lulea.ca") is None or broker_tls(layout) is not None:
        return
    steps = [
        ["init", "--dir", str(ca_dir(layout))],
        ["issue-server", "--dir", str(ca_dir(layout)), "--cn", "kafka-broker",
         "--san", "127.0.0.1", "--out-dir", str(layout.pki / "kafka")],
    ]
    for step in steps:
        result = subprocess.run([sys.executable, "-m", "lulea.ca", *step],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = layout.log("kafka-broker-certificate")
            log.write_text(result.stdout + result.stderr)
            raise StackError(f"kafka: the CA could not issue the broker certificate; see {log}")


def properties(layout: Layout) -> str:
    plain, ctrl, ssl = layout.port("kafka"), layout.port("kafka-controller"), layout.port("kafka-ssl")
    listeners = [f"PLAINTEXT://127.0.0.1:{plain}", f"CONTROLLER://127.0.0.1:{ctrl}"]
    advertised = [f"PLAINTEXT://127.0.0.1:{plain}"]
    lines = [
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{ctrl}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={_dir(layout) / 'data'}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users=User:ANONYMOUS;User:lulea-platform",
        "allow.everyone.if.no.acl.found=false",
    ]
    tls = broker_tls(layout)
    if tls is not None:
        listeners.append(f"SSL://127.0.0.1:{ssl}")
        advertised.append(f"SSL://127.0.0.1:{ssl}")
        truststore = layout.pki / "kafka" / "truststore.pem"
        lines += [
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL",
            "ssl.keystore.type=PEM", f"ssl.keystore.location={tls}",
            "ssl.truststore.type=PEM", f"ssl.truststore.location={truststore}",
            "ssl.client.auth=required",
            # The member's principal is the certificate's CN: User:<project>__<user>.
            "ssl.principal.mapping.rules=RULE:^CN=([^,]+).*$/$1/,DEFAULT",
        ]
    else:
        lines.append("listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT")
    lines += [f"listeners={','.join(listeners)}", f"advertised.listeners={','.join(advertised)}"]
    return "\n".join(lines) + "\n"


def _java(layout: Layout, main: str, *args: str) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise StackError("kafka: java is not installed (need Java 17+)")
    libs = layout.tools["kafka"]
    return [
        java, "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={_dir(layout) / 'log4j2.properties'}",
        "-cp", f"{libs}/*", main, *args,
    ]


def prepare(layout: Layout) -> None:
    d = _dir(layout)
    d.mkdir(parents=True, exist_ok=True)
    issue_broker_certificate(layout)
    (d / "log4j2.properties").write_text(LOG4J2)
    (d / "server.properties").write_text(properties(layout))
    if (d / "data" / "meta.properties").exists():
        return
    cluster_id = uuid.uuid4().hex[:22]
    fmt = _java(layout, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                "-c", str(d / "server.properties"), "--ignore-formatted")
    result = subprocess.run(fmt, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        log = layout.log("kafka-format")
        log.write_text(result.stdout + result.stderr)
        raise StackError(f"kafka: storage format failed; see {log}")


def argv(layout: Layout) -> list[str]:
    return _java(layout, "kafka.Kafka", str(_dir(layout) / "server.properties"))


def env(layout: Layout) -> dict[str, str]:
    return {}


def ready(layout: Layout) -> bool:
    try:
        return "Kafka Server started" in layout.log("kafka").read_text(errors="replace")
    except FileNotFoundError:
        return False
