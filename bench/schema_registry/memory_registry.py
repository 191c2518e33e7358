"""The registry on its in-memory store, served like `python -m lulea.schema_registry`.

Bench only: it measures what registration costs the service itself, without the database
(the real service always runs on MongoDB).
"""

from __future__ import annotations

import sys

import uvicorn

from lulea.schema_registry.main import create_app
from lulea.schema_registry.settings import Settings
from lulea.schema_registry.store.memory import MemoryStore

if __name__ == "__main__":
    app = create_app(Settings(every_caller_is_platform=True), store=MemoryStore())
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False,
                server_header=False)
