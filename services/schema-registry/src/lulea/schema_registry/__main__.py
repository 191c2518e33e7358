"""`python -m lulea.schema_registry`: serve the registry with uvicorn on settings' host/port."""

from __future__ import annotations

import uvicorn

from lulea.schema_registry.main import configure_logging, create_app
from lulea.schema_registry.settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_config=None, access_log=False, server_header=False)


if __name__ == "__main__":
    main()
