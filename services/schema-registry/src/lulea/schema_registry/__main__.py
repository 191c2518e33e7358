"""`python -m lulea.schema_registry`: serve the registry on settings' host/port, over TLS with
its certificate from the platform CA, checking member certificates against the CA's CRL."""

from __future__ import annotations

import asyncio
import ssl

from cryptography import x509

from lulea.core.auth.crl import CrlWatcher
from lulea.core.platform import PlatformSettings, request_identity
from lulea.core.tls import serve_app
from lulea.schema_registry.main import configure_logging, create_app
from lulea.schema_registry.settings import Settings


def crl_watcher(settings: Settings, platform: PlatformSettings) -> CrlWatcher | None:
    """The CRL of the platform intermediate (the issuer of member certificates)."""
    if platform.crl_url is None or platform.trust_file is None or platform.identity_dir is None:
        return None
    chain = x509.load_pem_x509_certificates((platform.identity_dir / "tls.crt").read_bytes())
    issuer = next(c for c in chain[1:] if c.subject != c.issuer)  # the intermediate
    verify = ssl.create_default_context(cafile=str(platform.trust_file))
    return CrlWatcher(platform.crl_url, issuer, settings.crl_refresh_seconds, verify=verify)


async def serve(settings: Settings, platform: PlatformSettings) -> None:
    if settings.every_caller_is_platform:
        platform.refuse_unless_local("LULEA_SCHEMA_REGISTRY_EVERY_CALLER_IS_PLATFORM",
                                     "turns authentication and project scoping off")

    crl = None
    if platform.ca_url is not None:
        await request_identity(platform)  # the chain crl_watcher reads; serve_app reuses the files
        crl = crl_watcher(settings, platform)
    await serve_app(create_app(settings, crl=crl), settings.host, settings.port, platform,
                    access_log=False, server_header=False)


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    asyncio.run(serve(settings, PlatformSettings()))


if __name__ == "__main__":
    main()
