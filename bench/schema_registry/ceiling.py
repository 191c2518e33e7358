"""The ceiling: a bare Starlette endpoint returning a constant, served exactly like the registry.

Same uvicorn settings as `python -m lulea.schema_registry` (uvloop + httptools from
uvicorn[standard], no access log, no server header, one process).
"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SCHEMA = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
BODY = json.dumps({"schema": json.dumps(SCHEMA, separators=(",", ":"))}).encode()


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/vnd.schemaregistry.v1+json")


app = Starlette(routes=[Route("/schemas/ids/{schema_id:int}", constant)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False,
                server_header=False)
