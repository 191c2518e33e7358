"""The credentials e2e tests act with, as the people and components they stand for hold them:
a member's certificate (read from the member's Secret as the admin would, written to files for
the clients), a platform component's audience-bound token, and the Kafka ACLs an admin grants
by hand where no operator does yet."""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from cryptography import x509
from kubernetes_asyncio import client as k8s
from kubernetes_asyncio.client.exceptions import ApiException

from lulea.core.kafka import KafkaClient
from lulea.devstack.endpoints import Stack


@dataclass(frozen=True)
class MemberFiles:
    """A member's certificate as files: what a job finds at LULEA_CERT_DIR."""

    project: str
    user: str
    cert: Path  # tls.crt: leaf + intermediate
    key: Path
    ca: Path  # ca.crt: intermediate + root

    @property
    def serial(self) -> int:
        return x509.load_pem_x509_certificates(self.cert.read_bytes())[0].serial_number

    def kafka(self, stack: Stack) -> KafkaClient:
        """This member on Kafka's member listener."""
        return KafkaClient.from_files(stack.kafka_member_bootstrap, self.ca, self.cert, self.key)

    def on(self, bootstrap: str) -> KafkaClient:
        return KafkaClient.from_files(bootstrap, self.ca, self.cert, self.key)

    def registry(self, stack: Stack) -> dict[str, str]:
        """confluent-kafka's SchemaRegistryClient configuration with this member's certificate."""
        return {"url": stack.schema_registry_url, "ssl.ca.location": str(stack.trust_file),
                "ssl.certificate.location": str(self.cert), "ssl.key.location": str(self.key)}

    def tls(self, stack: Stack) -> ssl.SSLContext:
        """For httpx: verify Lulea's services, present this member's certificate."""
        context = ssl.create_default_context(cafile=str(stack.trust_file))
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


async def member_secret(api: k8s.ApiClient, project: str, user: str) -> dict[str, bytes] | None:
    try:
        secret = await k8s.CoreV1Api(api).read_namespaced_secret(f"lulea-cert-{user}", project)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


def _serial(data: dict[str, bytes]) -> int:
    return x509.load_pem_x509_certificates(data["tls.crt"])[0].serial_number


async def member_files(api: k8s.ApiClient, project: str, user: str, directory: Path,
                       timeout: float = 60, not_serials: frozenset[int] = frozenset()) -> MemberFiles:
    """Wait for the CA to issue the member's certificate (one not in `not_serials`: a new one
    after a re-admission); write it out for the clients."""
    async with asyncio.timeout(timeout):
        while (data := await member_secret(api, project, user)) is None or _serial(data) in not_serials:
            await asyncio.sleep(0.25)
    d = directory / f"{project}__{user}"
    d.mkdir(parents=True, exist_ok=True)
    for name in ("tls.crt", "tls.key", "ca.crt"):
        (d / name).write_bytes(data[name])
    (d / "tls.key").chmod(0o600)
    return MemberFiles(project, user, d / "tls.crt", d / "tls.key", d / "ca.crt")


def platform_token(stack: Stack, component: str) -> str:
    """A platform component's service-account token bound to the audience `lulea`."""
    return (stack.state_dir / "components" / component / "token-lulea").read_text().strip()


def create_topic(kafka: KafkaClient, name: str, partitions: int = 1) -> str:
    admin = AdminClient(kafka.confluent())
    for future in admin.create_topics([NewTopic(name, num_partitions=partitions)]).values():
        future.result(timeout=30)
    return name


def grant(kafka: KafkaClient, principal: str, *, topic: str | None = None, group: str | None = None,
          operations: tuple[str, ...] = ("READ", "WRITE", "DESCRIBE")) -> None:
    """What the Topic operator will compute; here by hand, as the Kafka admin."""
    bindings = []
    if topic is not None:
        bindings += [AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, principal, "*",
                                AclOperation[op], AclPermissionType.ALLOW) for op in operations]
    if group is not None:
        bindings.append(AclBinding(ResourceType.GROUP, group, ResourcePatternType.PREFIXED, principal,
                                   "*", AclOperation.READ, AclPermissionType.ALLOW))
    admin = AdminClient(kafka.confluent())  # kept alive until its futures resolve
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)
    # The controller has the ACLs now; the broker's authorizer applies them from the metadata
    # log a moment later, and a client refused in that moment gets a permanent error
    # (TOPIC_AUTHORIZATION_FAILED). DescribeAcls is answered from the broker's authorizer.
    wanted = set(bindings)
    deadline = time.monotonic() + 30
    while True:
        found = admin.describe_acls(AclBindingFilter(
            ResourceType.ANY, None, ResourcePatternType.ANY, principal, None, AclOperation.ANY,
            AclPermissionType.ANY)).result(timeout=30)
        if wanted <= set(found):
            return
        assert time.monotonic() < deadline, f"the broker never showed the ACLs of {principal}"
        time.sleep(0.1)
