"""Serving a Lulea API over TLS, with the caller's client certificate in the ASGI scope.

Every service endpoint is TLS, with the component's certificate from the platform CA.
Client certificates are optional at the handshake (a caller may bring a bearer token
instead), verified against the platform root by OpenSSL when sent, and handed to the app
as the ASGI TLS extension says: `scope["extensions"]["tls"]["client_cert_chain"]`, PEM
strings, leaf first. uvicorn does not fill that extension, so a small subclass of its
protocol adds it per connection. A renewed certificate is loaded into the running server's
SSLContext: new handshakes use it, open connections keep theirs.

    server = tls_server(app, host, port, identity)
    await server.serve()
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import MutableMapping
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from lulea.core.platform import Identity, PlatformSettings, renew_forever, request_identity

Scope = MutableMapping[str, Any]


def peer_certificate(scope: Scope) -> bytes | None:
    """The verified client certificate of the request (DER), or None."""
    chain = ((scope.get("extensions") or {}).get("tls") or {}).get("client_cert_chain") or []
    if not chain:
        return None
    return ssl.PEM_cert_to_DER_cert(chain[0])


class _WithPeerCertificate:
    def __init__(self, app: Any, chain: list[str]) -> None:
        self.app, self.chain = app, chain

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            extensions = dict(scope.get("extensions") or {})
            extensions["tls"] = {"client_cert_chain": self.chain, "server_cert": None}
            scope = {**scope, "extensions": extensions}
        await self.app(scope, receive, send)


class PeerCertificateProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, plus the connection's client certificate for the app."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        tls = transport.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        if der:
            self.app = _WithPeerCertificate(self.app, [ssl.DER_cert_to_PEM_cert(der)])


def tls_server(app: Any, host: str, port: int, identity: Identity, *,
               require_client_certificate: bool = False, **config: Any) -> uvicorn.Server:
    """A uvicorn server for `app` on https://host:port with `identity`'s certificate."""
    settings = uvicorn.Config(
        app, host=host, port=port, http=PeerCertificateProtocol, log_config=None,
        ssl_certfile=str(identity.cert_file), ssl_keyfile=str(identity.key_file),
        ssl_ca_certs=str(identity.trust_file),
        ssl_cert_reqs=ssl.CERT_REQUIRED if require_client_certificate else ssl.CERT_OPTIONAL,
        **config)
    return uvicorn.Server(settings)


def reload_certificate(server: uvicorn.Server, identity: Identity) -> None:
    """Use a renewed certificate for the next handshakes."""
    context = server.config.ssl
    if context is not None:
        context.load_cert_chain(str(identity.cert_file), str(identity.key_file))


def client_context(identity: Identity | None = None, trust_file: str | None = None) -> ssl.SSLContext:
    """For calling a Lulea service: verify it against the root; present `identity` if given."""
    context = ssl.create_default_context(cafile=trust_file or str(identity.trust_file if identity else ""))
    if identity is not None:
        context.load_cert_chain(str(identity.cert_file), str(identity.key_file))
    return context


async def serve_app(app: Any, host: str, port: int, platform: PlatformSettings, **config: Any) -> None:
    """Serve `app` the way every Lulea service does: over TLS with this component's certificate
    from the CA, renewed at two thirds of its life. Without a CA to ask (LULEA_CA_URL unset)
    it serves plain HTTP, which is refused at start-up outside a local run (a benchmark that
    measures the service alone)."""
    if platform.ca_url is None:
        platform.refuse_unless_local("serving plain HTTP", "weakens every caller's protection")
        await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, **config)).serve()
        return
    identity = await request_identity(platform)
    server = tls_server(app, host, port, identity, **config)
    renewal = asyncio.create_task(renew_forever(platform, identity,
                                                lambda new: reload_certificate(server, new)))
    try:
        await server.serve()
    finally:
        renewal.cancel()
