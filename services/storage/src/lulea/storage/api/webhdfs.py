"""`/webhdfs/v1/<path>?op=...`: Hadoop's WebHDFS REST API over the namespace.

One endpoint reads the raw path and the parameters, authenticates the caller (or checks the
grant of a CREATE/APPEND second step), checks the caller's level on the path and runs the
operation; every error leaves as a RemoteException with Hadoop's name and status."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from lulea.core.tls import peer_certificate
from lulea.storage import access
from lulea.storage.access import Caller, Level
from lulea.storage.api import params as P
from lulea.storage.api.identity import from_claims, to_claims
from lulea.storage.namespace.errors import Hadoop, StorageError, denied, illegal, not_found
from lulea.storage.namespace.inodes import file_status
from lulea.storage.namespace.paths import PROJECTS, Path
from lulea.storage.namespace.store import NewFile, require_non_negative

PREFIX = b"/webhdfs/v1"
BATCH = 1000
router = APIRouter()


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass
class Call:
    request: Request
    op: str
    path: Path
    params: dict[str, str]
    caller: Caller
    granted: bool

    @property
    def app(self) -> Any:
        return self.request.app.state

    def need(self, needed: Level) -> Level:
        return access.require(self.caller, self.path, self.app.directory, needed)

    def need_inside(self, needed: Level, path: Path | None = None) -> Level:
        return access.require_inside_dataset(self.caller, path or self.path, self.app.directory, needed)

    async def need_dataset_root(self) -> None:
        """Members write into datasets that exist (made by the operator from a Dataset object),
        never make a dataset root as a side effect of a deeper MKDIRS or CREATE."""
        if not self.caller.platform and len(self.path.parts) > 3:
            await self.app.namespace.stat(Path(self.path.parts[:3]))


def _raw_path(request: Request) -> str:
    raw: bytes = request.scope.get("raw_path") or request.url.path.encode()
    raw = raw.split(b"?", 1)[0]
    if not raw.startswith(PREFIX):
        raise not_found(raw.decode("latin-1"))
    rest = raw[len(PREFIX):].decode("latin-1") or "/"
    return rest


@router.api_route("/webhdfs/v1{rest:path}", methods=["GET", "PUT", "POST", "DELETE"],
                  include_in_schema=False)
async def webhdfs(request: Request) -> Response:
    params = {k.lower(): v for k, v in request.query_params.multi_items()}
    op = P.op_of(request.method, params)
    path = Path.parse(_raw_path(request))
    state = request.app.state
    grant = params.get("grant")
    if grant and op in ("CREATE", "APPEND"):
        claims, granted_params = state.signer.check_grant(grant, op, str(path))
        call = Call(request, op, path, {**params, **granted_params}, from_claims(claims), True)
    else:
        peer = peer_certificate(request.scope)
        caller = await state.authenticator.authenticate(dict(request.headers), params, peer)
        call = Call(request, op, path, params, caller, False)
    handler = HANDLERS.get(op)
    if handler is None:
        raise StorageError(Hadoop.UNSUPPORTED, f"{op} is not supported by this file system")
    return await handler(call)


# -- reading ----------------------------------------------------------------------------------
async def get_file_status(call: Call) -> Response:
    call.need(Level.READ)
    doc = await call.app.namespace.stat(call.path)
    return JSON({"FileStatus": file_status(doc, "")})


def _visible_children(call: Call, children: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if call.caller.platform or len(call.path.parts) > 2:
        return children
    directory = call.app.directory
    return [c for c in children if access.visible(call.caller, call.path.child(c["name"]), directory)]


async def list_status(call: Call) -> Response:
    call.need(Level.READ)
    doc, children, _ = await call.app.namespace.listing(call.path)
    if doc["type"] != "DIRECTORY":
        return JSON({"FileStatuses": {"FileStatus": [file_status(doc, "")]}})
    shown = _visible_children(call, children)
    return JSON({"FileStatuses": {"FileStatus": [file_status(c, c["name"]) for c in shown]}})


async def list_status_batch(call: Call) -> Response:
    call.need(Level.READ)
    start = call.params.get("startafter") or None
    doc, children, remaining = await call.app.namespace.listing(call.path, start_after=start, limit=BATCH)
    children = [doc] if doc["type"] != "DIRECTORY" else _visible_children(call, children)
    statuses = [file_status(c, c["name"] if c is not doc else "") for c in children]
    return JSON({"DirectoryListing": {"partialListing": {"FileStatuses": {"FileStatus": statuses}},
                                      "remainingEntries": remaining}})


async def open_file(call: Call) -> Response:
    call.need(Level.READ)
    offset = P.integer(call.params, "offset", 0, minimum=None) or 0
    length = P.integer(call.params, "length", None, minimum=None)
    require_non_negative("offset", offset)
    require_non_negative("length", length)
    doc, body = await call.app.namespace.open(call.path, offset, length)
    first = [chunk async for chunk in _first(body)]  # a missing block fails before the 200
    size = int(doc.get("size") or 0)
    end = size if length is None else min(size, offset + length)
    headers = {"Content-Length": str(max(0, end - offset))}

    async def stream() -> AsyncIterator[bytes]:
        for chunk in first:
            yield chunk
        async for chunk in body:
            yield chunk
    return StreamingResponse(stream(), media_type="application/octet-stream", headers=headers)


async def _first(body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in body:
        yield chunk
        return


async def content_summary(call: Call) -> Response:
    call.need(Level.READ)
    return JSON(await call.app.namespace.content_summary(call.path))


async def file_checksum(call: Call) -> Response:
    call.need(Level.READ)
    return JSON(await call.app.namespace.checksum(call.path))


async def home_directory(call: Call) -> Response:
    caller = call.caller
    if caller.platform:
        return JSON({"Path": f"/{PROJECTS}"})
    mine = access.acting_projects(caller, call.app.directory)
    return JSON({"Path": f"/{PROJECTS}/{mine[0]}" if len(mine) == 1 else f"/{PROJECTS}"})


async def trash_root(call: Call) -> Response:
    call.need(Level.READ)
    return JSON({"Path": f"{call.path}/.Trash"})


# -- writing ----------------------------------------------------------------------------------
def _location(call: Call) -> str:
    keep = {k: call.params[k] for k in ("overwrite", "permission", "replication", "blocksize")
            if k in call.params}
    grant = call.app.signer.grant(to_claims(call.caller), call.op, str(call.path), keep)
    base = str(call.request.base_url).rstrip("/")
    return f"{base}/webhdfs/v1{quote(str(call.path))}?{urlencode({'op': call.op, 'grant': grant})}"


def _redirect(call: Call) -> Response:
    location = _location(call)
    if P.boolean(call.params, "noredirect", False):
        return JSON({"Location": location})
    return Response(status_code=307, headers={"Location": location})


async def create(call: Call) -> Response:
    call.need_inside(Level.WRITE)
    await call.need_dataset_root()
    overwrite = P.boolean(call.params, "overwrite", False)
    new = NewFile(owner=call.caller.owner, group=call.path.project or "",
                  permission=P.permission(call.params, "644"),
                  replication=P.integer(call.params, "replication", 1, minimum=1, maximum=512) or 1,
                  block_size=P.integer(call.params, "blocksize", 128 * 1024 * 1024, minimum=1) or 1)
    namespace = call.app.namespace
    if not call.granted:
        try:  # fail early, as a NameNode does, when the second step could not succeed
            existing = await namespace.stat(call.path)
        except StorageError:
            existing = None
        if existing is not None:
            namespace._may_replace(existing, call.path, overwrite)
        return _redirect(call)
    await namespace.create(call.path, call.request.stream(), new, overwrite=overwrite)
    return Response(status_code=201, headers={"Location": f"webhdfs://{call.request.url.netloc}{call.path}"})


async def append(call: Call) -> Response:
    call.need_inside(Level.WRITE)
    if not call.granted:
        doc = await call.app.namespace.stat(call.path)
        if doc["type"] != "FILE":
            raise StorageError(Hadoop.FILE_NOT_FOUND, f"{call.path} is not a file")
        return _redirect(call)
    await call.app.namespace.append(call.path, call.request.stream())
    return Response(status_code=200)


async def mkdirs(call: Call) -> Response:
    if not call.caller.platform and len(call.path.parts) == 3:
        # MKDIRS of a dataset root that exists answers true, as HDFS does for any existing
        # directory: fsspec's put() makes the parent first, so every file put straight into a
        # dataset starts with it. The root itself is still only made by the Dataset operator.
        call.need(Level.WRITE)
        try:
            existing = await call.app.namespace.stat(call.path)
        except StorageError as err:  # no such dataset: refused below, as a new root always is
            if err.kind is not Hadoop.FILE_NOT_FOUND:
                raise
            existing = None
        if existing is not None and existing["type"] == "DIRECTORY":
            return JSON({"boolean": True})
    call.need_inside(Level.WRITE)
    await call.need_dataset_root()
    done = await call.app.namespace.mkdirs(call.path, owner=call.caller.owner,
                                           group=call.path.project or "lulea",
                                           permission=P.permission(call.params, "755"))
    return JSON({"boolean": done})


async def rename(call: Call) -> Response:
    call.need_inside(Level.WRITE)
    destination = call.params.get("destination")
    if not destination:
        raise illegal('Invalid value for webhdfs parameter "destination": it is missing')
    dst = Path.parse(destination, encoded=False)
    access.require_inside_dataset(call.caller, dst, call.app.directory, Level.WRITE)
    return JSON({"boolean": await call.app.namespace.rename(call.path, dst)})


async def delete(call: Call) -> Response:
    call.need_inside(Level.WRITE)
    recursive = P.boolean(call.params, "recursive", False)
    return JSON({"boolean": await call.app.namespace.delete(call.path, recursive=recursive)})


async def set_permission(call: Call) -> Response:
    call.need(Level.MANAGE)
    await call.app.namespace.set_fields(call.path, {"permission": P.permission(call.params, "755")})
    return Response(status_code=200)


async def set_owner(call: Call) -> Response:
    call.need(Level.MANAGE)
    fields = {k: call.params[k] for k in ("owner", "group") if call.params.get(k)}
    if not fields:
        raise illegal("Both owner and group are empty.")
    await call.app.namespace.set_fields(call.path, fields)
    return Response(status_code=200)


async def set_times(call: Call) -> Response:
    call.need_inside(Level.WRITE)
    fields = {}
    for name, field in (("modificationtime", "mtime"), ("accesstime", "atime")):
        value = P.integer(call.params, name, -1, minimum=-1)
        if value is not None and value >= 0:
            fields[field] = value
    await call.app.namespace.set_fields(call.path, fields)
    return Response(status_code=200)


async def set_replication(call: Call) -> Response:
    call.need_inside(Level.WRITE)
    replication = P.integer(call.params, "replication", 1, minimum=1, maximum=512)
    doc = await call.app.namespace.stat(call.path)
    if doc["type"] != "FILE":
        return JSON({"boolean": False})
    await call.app.namespace.set_fields(call.path, {"replication": replication})
    return JSON({"boolean": True})


async def set_quota(call: Call) -> Response:
    if call.need(Level.READ) < Level.PLATFORM:
        raise denied(f"Permission denied: quotas of {call.path} come from its Dataset object")
    files = P.integer(call.params, "namespacequota", None, minimum=-1)
    nbytes = P.integer(call.params, "storagespacequota", None, minimum=-1)
    await call.app.namespace.set_quota(call.path, files=None if files in (None, -1) else files,
                                       nbytes=None if nbytes in (None, -1) else nbytes)
    return Response(status_code=200)


# -- delegation tokens ------------------------------------------------------------------------
async def get_delegation_token(call: Call) -> Response:
    if call.params.get("delegation"):
        raise StorageError(Hadoop.SECURITY, "a delegation token cannot be used to get another")
    token = await call.app.tokens.issue(to_claims(call.caller), call.params.get("renewer"))
    return JSON({"Token": {"urlString": token}})


async def _own_token(call: Call) -> str:
    token = call.params.get("token")
    if not token:
        raise illegal('Invalid value for webhdfs parameter "token": it is missing')
    holder = from_claims(await call.app.tokens.caller(token))
    if holder != call.caller and not call.caller.platform:
        raise denied("Permission denied: the token belongs to someone else")
    return token


async def renew_delegation_token(call: Call) -> Response:
    return JSON({"long": await call.app.tokens.renew(await _own_token(call))})


async def cancel_delegation_token(call: Call) -> Response:
    await call.app.tokens.cancel(await _own_token(call))
    return Response(status_code=200)


HANDLERS: dict[str, Callable[[Call], Awaitable[Response]]] = {
    "GETFILESTATUS": get_file_status, "LISTSTATUS": list_status, "LISTSTATUS_BATCH": list_status_batch,
    "OPEN": open_file, "GETCONTENTSUMMARY": content_summary, "GETFILECHECKSUM": file_checksum,
    "GETHOMEDIRECTORY": home_directory, "GETTRASHROOT": trash_root,
    "CREATE": create, "APPEND": append, "MKDIRS": mkdirs, "RENAME": rename, "DELETE": delete,
    "SETPERMISSION": set_permission, "SETOWNER": set_owner, "SETTIMES": set_times,
    "SETREPLICATION": set_replication, "SETQUOTA": set_quota,
    "GETDELEGATIONTOKEN": get_delegation_token, "RENEWDELEGATIONTOKEN": renew_delegation_token,
    "CANCELDELEGATIONTOKEN": cancel_delegation_token,
}
