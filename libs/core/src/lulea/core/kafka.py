"""How a Lulea component reaches Kafka: the bootstrap address and its mTLS identity.

The platform's Kafka has no unauthenticated listener: every client presents a certificate
from the platform CA (a service certificate, CN = the component's service account, for
the platform listener; a member certificate, CN = `<project>__<user>`, for the member
listener) and the broker's principal is that CN. One value carries it to both client
libraries we use:

    kafka = KafkaClient.from_files("127.0.0.1:20006", trust, cert, key)
    AIOKafkaProducer(**kafka.aiokafka())                 # the event bus (aiokafka)
    AdminClient(kafka.confluent())                       # ACLs, topics (confluent-kafka)
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class KafkaClient:
    bootstrap: str
    trust_file: Path | None = None  # the platform root (PEM): verifies the broker
    cert_file: Path | None = None  # this client's certificate chain (PEM)
    key_file: Path | None = None  # its private key (PEM)
    _context: list[ssl.SSLContext] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_files(cls, bootstrap: str, trust_file: Path | str, cert_file: Path | str,
                   key_file: Path | str) -> KafkaClient:
        return cls(bootstrap, Path(trust_file), Path(cert_file), Path(key_file))

    @property
    def tls(self) -> bool:
        return self.trust_file is not None

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the broker against the platform root and presents our certificate; one
        context per client, so `reload()` reaches every connection opened after it."""
        if self.trust_file is None:
            raise ValueError("this Kafka client has no TLS identity")
        if not self._context:
            context = ssl.create_default_context(cafile=str(self.trust_file))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._context.append(context)
            self.reload()
        return self._context[0]

    def reload(self) -> None:
        """Read the certificate files again (they were renewed)."""
        if self._context and self.cert_file is not None:
            key = str(self.key_file) if self.key_file else None
            self._context[0].load_cert_chain(str(self.cert_file), key)

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        if not self.tls:
            return {"bootstrap_servers": self.bootstrap}
        return {"bootstrap_servers": self.bootstrap, "security_protocol": "SSL",
                "ssl_context": self.ssl_context()}

    def confluent(self, **extra: Any) -> dict[str, Any]:
        """A confluent-kafka (librdkafka) configuration dict."""
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap}
        if self.tls:
            conf |= {"security.protocol": "SSL", "ssl.ca.location": str(self.trust_file),
                     "ssl.endpoint.identification.algorithm": "https"}
            if self.cert_file is not None:
                conf["ssl.certificate.location"] = str(self.cert_file)
            if self.key_file is not None:
                conf["ssl.key.location"] = str(self.key_file)
        return conf | extra
