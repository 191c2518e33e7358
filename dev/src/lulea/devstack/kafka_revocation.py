"""The broker's revocation plug-in (dev/tools/kafka-revocation, docs/kafka-revocation.md): the broker
properties that turn it on, and a one-node broker that runs it, with a CRL endpoint and a TLS probe,
for dev/tests/test_kafka_revocation.py and bench/kafka_revocation.

The plug-in is a jar on the broker's classpath plus `security.providers`; each mTLS listener picks
`LuleaPlatform` (service certificates) or `LuleaMember` (`<project>__<user>`) as its trust manager.
"""

from __future__ import annotations

import hashlib
import http.server
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from lulea.devstack.kafka import LOG4J2, Revocation, trust_manager
from lulea.devstack.process import Managed, StackError, spawn, stop


def free_ports(n: int) -> list[int]:
    """Ports the kernel just handed out and took back (another process could still take one)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass(frozen=True)
class Broker:
    """A one-node KRaft broker (controller + broker, like the stack's) whose SSL listeners map to a
    trust manager algorithm each: `{"MEMBER": "LuleaMember", "PKIX": "PKIX"}`."""

    directory: Path
    libs: Path
    jar: Path
    keystore: Path  # PEM key + chain (python -m lulea.ca issue-server)
    truststore: Path  # PEM root
    revocation: Revocation
    ssl_listeners: dict[str, str]
    ports: dict[str, int]  # PLAINTEXT, CONTROLLER and each SSL listener

    def properties(self) -> str:
        names = ["PLAINTEXT", "CONTROLLER", *self.ssl_listeners]
        listeners = ",".join(f"{n}://127.0.0.1:{self.ports[n]}" for n in names)
        advertised = ",".join(f"{n}://127.0.0.1:{self.ports[n]}" for n in names if n != "CONTROLLER")
        protocols = ",".join(["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT",
                              *(f"{n}:SSL" for n in self.ssl_listeners)])
        lines = [
            "process.roles=broker,controller", "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.ports['CONTROLLER']}",
            "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
            f"listeners={listeners}", f"advertised.listeners={advertised}",
            f"listener.security.protocol.map={protocols}",
            f"log.dirs={self.directory / 'data'}", "num.partitions=1",
            "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1", "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1", "group.initial.rebalance.delay.ms=0",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users=User:ANONYMOUS", "allow.everyone.if.no.acl.found=false",
            "ssl.keystore.type=PEM", f"ssl.keystore.location={self.keystore}",
            "ssl.truststore.type=PEM", f"ssl.truststore.location={self.truststore}",
            "ssl.client.auth=required", "ssl.principal.mapping.rules=RULE:^CN=([^,]+).*$/$1/,DEFAULT",
            *self.revocation.properties(),
            *(trust_manager(n, alg) for n, alg in self.ssl_listeners.items() if alg != "PKIX"),
        ]
        return "\n".join(lines) + "\n"

    @property
    def log(self) -> Path:
        return self.directory / "kafka.log"

    def _java(self, main: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise StackError("kafka: java is not installed (need Java 17+)")
        return [java, "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}",
                "-cp", f"{self.libs}/*:{self.jar}", main, *args]

    def start(self, timeout: float = 90.0) -> Managed:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "log4j2.properties").write_text(LOG4J2)
        config = self.directory / "server.properties"
        config.write_text(self.properties())
        fmt = self._java("kafka.tools.StorageTool", "format", "-t", uuid.uuid4().hex[:22],
                         "-c", str(config), "--ignore-formatted")
        result = subprocess.run(fmt, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"kafka: storage format failed: {result.stdout}{result.stderr}")
        pidfile = self.directory / "kafka.pid"
        broker = spawn("kafka", self._java("kafka.Kafka", str(config)), self.log, pidfile)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "Kafka Server started" in text:
                return broker
            if not broker.alive():
                raise StackError(f"kafka exited before it started:\n{text[-4000:]}")
            time.sleep(0.2)
        stop(broker)
        raise StackError(f"kafka did not start in {timeout:.0f} s; see {self.log}")


class CrlEndpoint:
    """The CA's CRL URL on loopback (DER, `application/pkix-crl`), with an ETag so polls are conditional."""

    def __init__(self, der: bytes) -> None:
        self._der = der
        self.requests = 0
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = endpoint._der
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                endpoint.requests += 1
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/crl"

    def publish(self, der: bytes) -> None:
        self._der = der

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ApiVersions v0 (key 18), request header v1: correlation id 1, null client id.
_API_VERSIONS = struct.pack(">hhih", 18, 0, 1, -1)


def handshake(port: int, cert: Path, key: Path, ca: Path) -> bool:
    """One mTLS connection and an ApiVersions round trip: True if the broker accepted the certificate.
    (In TLS 1.3 the client's handshake is done before the broker has checked its certificate; only
    the broker's first answer tells.) Python's client never resumes a session: each is a full handshake."""
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(cert), str(key))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            # As Kafka's clients do. With Nagle on, the request waits for the ACK of our Finished, which
            # the broker delays (~40 ms) when it has no session ticket to send, as with the plug-in.
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(struct.pack(">i", len(_API_VERSIONS)) + _API_VERSIONS)
                return len(tls.recv(4)) == 4
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return False
