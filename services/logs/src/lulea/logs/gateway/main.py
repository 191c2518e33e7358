"""`python -m lulea.logs gateway`: serve the app over TLS (lulea.core.tls), with a Project
informer for access and the deletion of deleted Projects' logs."""

from __future__ import annotations

import asyncio
import ssl

import httpx
from cryptography import x509

from lulea.core.auth.crl import CrlWatcher
from lulea.core.kube import Kube, connect
from lulea.core.kube.informer import Informer
from lulea.core.logs import setup_json_logging
from lulea.core.platform import PlatformSettings, request_identity
from lulea.core.tls import serve_app
from lulea.logs.gateway.access import Authenticator, KubernetesTokenReviewer
from lulea.logs.gateway.app import create_app
from lulea.logs.gateway.retention import sweep_forever
from lulea.logs.settings import GatewaySettings

PROJECTS = "/apis/lulea.io/v1alpha1/projects"


def crl_watcher(settings: GatewaySettings, platform: PlatformSettings) -> CrlWatcher | None:
    if platform.crl_url is None or platform.trust_file is None or platform.identity_dir is None:
        return None
    chain = x509.load_pem_x509_certificates((platform.identity_dir / "tls.crt").read_bytes())
    issuer = next(c for c in chain[1:] if c.subject != c.issuer)
    verify = ssl.create_default_context(cafile=str(platform.trust_file))
    return CrlWatcher(platform.crl_url, issuer, settings.crl_refresh_seconds, verify=verify)


async def serve(settings: GatewaySettings, platform: PlatformSettings) -> None:
    await request_identity(platform)
    crl = crl_watcher(settings, platform)
    api = await connect(settings.kubeconfig)
    deleted: asyncio.Queue[str] = asyncio.Queue()
    informer: Informer

    def changed(key: str) -> None:
        if informer.get(key) is None:
            deleted.put_nowait(key)

    informer = Informer(Kube(api), PROJECTS, changed=changed)
    vl = httpx.AsyncClient(base_url=settings.victorialogs_url, timeout=60,
                           limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
    auth = Authenticator(KubernetesTokenReviewer(api, settings.token_audiences), crl,
                         settings.token_cache_seconds)
    app = create_app(auth, informer.get, vl, ready=informer.synced.is_set)
    tasks = [asyncio.create_task(informer.run()),
             asyncio.create_task(sweep_forever(vl, informer.names, informer.synced, deleted,
                                               settings.sweep_seconds))]
    if crl is not None:
        tasks.append(asyncio.create_task(crl.run()))
    try:
        await serve_app(app, settings.host, settings.port, platform, access_log=False, server_header=False)
    finally:
        for t in tasks:
            t.cancel()


def main() -> None:
    settings = GatewaySettings()
    setup_json_logging(settings.log_level)
    asyncio.run(serve(settings, PlatformSettings()))
