"""Apache Kafka in KRaft mode: one process that is both controller and broker.

The runtime classpath comes from Maven Central (dev/tools/kafka/pom.xml). Nothing reaches the
broker without a certificate from the platform CA, and every principal is the certificate's CN:

- PLATFORM (base+6): mTLS, for Lulea's own components (service certificates, CN = their
  service account); the event topics' ACLs name them.
- MEMBER (base+8): mTLS, for project members (`<project>__<user>`); Topic ACLs name them.
- CONTROLLER (base+7): mTLS, the broker itself (`kafka-broker`).

With the revocation plug-in built (dev/tools/kafka-revocation), each of the two client
listeners refuses at the handshake a certificate the CA's CRL lists, and one of the wrong
kind (a member certificate on the platform listener, a service certificate on the member
listener). The super users are the broker and the local administrator `lulea-kafka-admin`
(the certificate `make up` and the tests use to create topics and ACLs); no listener grants
anything to an unauthenticated principal.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
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


# The revocation plug-in (dev/tools/kafka-revocation, docs/kafka-revocation.md).
PROVIDER = "io.lulea.kafka.revocation.LuleaSecurityProviderCreator"
PLATFORM, MEMBER = "LuleaPlatform", "LuleaMember"


@dataclass(frozen=True)
class Revocation:
    """The plug-in's broker properties (RevocationConfig.java documents each)."""

    crl_url: str
    cache_file: Path | None = None
    refresh_ms: int = 1000
    truststore: Path | None = None  # PEM CAs for an https crl_url

    def properties(self) -> list[str]:
        lines = [f"security.providers={PROVIDER}", f"lulea.revocation.crl.url={self.crl_url}",
                 f"lulea.revocation.refresh.ms={self.refresh_ms}"]
        if self.cache_file is not None:
            lines.append(f"lulea.revocation.cache.file={self.cache_file}")
        if self.truststore is not None:
            lines.append(f"lulea.revocation.truststore={self.truststore}")
        return lines


def trust_manager(listener: str, algorithm: str) -> str:
    """The property that gives one listener the plug-in's trust manager."""
    return f"listener.name.{listener.lower()}.ssl.trustmanager.algorithm={algorithm}"


BROKER = "kafka-broker"
ADMIN = "lulea-kafka-admin"


def service_name(name: str) -> str:
    """A DNS name inside the intermediate's constraints: Java refuses a certificate without one
    whose CN looks like a host name (it checks the CN against the constraints instead)."""
    return f"{name}.lulea-system.svc.cluster.local"


def kafka_pki(layout: Layout) -> Path:
    return layout.pki / "kafka"


def broker_tls(layout: Layout) -> Path | None:
    """The broker's PEM keystore (key + chain), once the CA has issued it."""
    keystore = kafka_pki(layout) / f"{BROKER}.keystore.pem"
    return keystore if keystore.exists() else None


def ca_dir(layout: Layout) -> Path:
    return layout.pki / "lulea-ca"


def trust_file(layout: Layout) -> Path:
    """The platform root: what every client and service verifies Lulea's endpoints against."""
    return ca_dir(layout) / "root.crt"


def crl_cache(layout: Layout) -> Path:
    """Where the broker's revocation plug-in keeps the last CRL it took (read at start-up)."""
    return _dir(layout) / "crl-cache.der"


def admin_files(layout: Layout) -> tuple[Path, Path]:
    """The local Kafka administrator's certificate and key (a super user)."""
    return kafka_pki(layout) / f"{ADMIN}.crt", kafka_pki(layout) / f"{ADMIN}.key"


def _ca(layout: Layout, *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "lulea.ca", *args], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        log = layout.log(f"ca-{args[0]}")
        log.write_text(result.stdout + result.stderr)
        raise StackError(f"the CA's `{args[0]}` failed; see {log}")


def ensure_hierarchy(layout: Layout) -> None:
    """The platform's root and intermediate, created once (what a platform team does with
    `python -m lulea.ca init` before installing); before anything that needs them starts."""
    if importlib.util.find_spec("lulea.ca") is None:
        raise StackError("the CA (lulea.ca) is not installed; run `uv sync --all-packages`")
    _ca(layout, "init", "--dir", str(ca_dir(layout)))


def issue_certificates(layout: Layout) -> None:
    """Have the intermediate issue the broker's server certificate and the local Kafka
    administrator's client certificate, and write the CRL the broker holds at start-up."""
    out = str(kafka_pki(layout))
    steps = []
    if broker_tls(layout) is None:
        steps.append(["issue-server", "--dir", str(ca_dir(layout)), "--cn", BROKER,
                      "--san", "127.0.0.1", "--san", service_name(BROKER), "--out-dir", out])
    if not admin_files(layout)[1].exists():
        steps.append(["issue-client", "--dir", str(ca_dir(layout)), "--cn", ADMIN,
                      "--san", service_name(ADMIN), "--out-dir", out])
    # the plug-in refuses every certificate without a current CRL, the broker's own too
    steps.append(["crl", "--dir", str(ca_dir(layout)), "--mongo-uri", layout.mongo_uri,
                      "--out", str(crl_cache(layout))])
    for step in steps:
        _ca(layout, *step)


def properties(layout: Layout) -> str:
    platform, ctrl, member = layout.port("kafka"), layout.port("kafka-controller"), layout.port("kafka-ssl")
    keystore = broker_tls(layout)
    if keystore is None:
        raise StackError("kafka: the broker has no certificate yet (issue_certificates first)")
    lines = [
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{ctrl}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLATFORM",
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
        f"super.users=User:{BROKER};User:{ADMIN}",
        "allow.everyone.if.no.acl.found=false",
        f"listeners=PLATFORM://127.0.0.1:{platform},CONTROLLER://127.0.0.1:{ctrl},MEMBER://127.0.0.1:{member}",
        f"advertised.listeners=PLATFORM://127.0.0.1:{platform},MEMBER://127.0.0.1:{member}",
        "listener.security.protocol.map=PLATFORM:SSL,CONTROLLER:SSL,MEMBER:SSL",
        "ssl.keystore.type=PEM", f"ssl.keystore.location={keystore}",
        "ssl.truststore.type=PEM", f"ssl.truststore.location={trust_file(layout)}",
        "ssl.client.auth=required",
        # The principal is the certificate's CN: User:<project>__<user>, User:lulea-ca, ...
        "ssl.principal.mapping.rules=RULE:^CN=([^,]+).*$/$1/,DEFAULT",
    ]
    plugin = layout.tools.get("kafka-revocation")
    if plugin is not None and plugin.exists():
        revocation = Revocation(f"http://127.0.0.1:{layout.port('ca-public')}/crl",
                                cache_file=crl_cache(layout))
        lines += [*revocation.properties(), trust_manager("PLATFORM", PLATFORM),
                  trust_manager("MEMBER", MEMBER)]
    return "\n".join(lines) + "\n"


def _java(layout: Layout, main: str, *args: str) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise StackError("kafka: java is not installed (need Java 17+)")
    classpath = f"{layout.tools['kafka']}/*"
    plugin = layout.tools.get("kafka-revocation")
    if plugin is not None and plugin.exists():
        classpath += f":{plugin}"
    return [
        java, "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={_dir(layout) / 'log4j2.properties'}",
        "-cp", classpath, main, *args,
    ]


def prepare(layout: Layout) -> None:
    d = _dir(layout)
    d.mkdir(parents=True, exist_ok=True)
    issue_certificates(layout)
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
