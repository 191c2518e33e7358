"""Signed grants and delegation tokens.

- A *grant* rides in the `Location` of a CREATE or APPEND's first step: the second step of
  fsspec and HdfsCLI carries no credentials, so the URL itself says who may do exactly that
  operation on exactly that path, until when (HMAC-SHA256, a minute).
- A *delegation token* (GETDELEGATIONTOKEN) stands for the caller who asked for it until it
  expires or is cancelled; it is recorded in MongoDB so RENEW and CANCEL work across replicas.

The HMAC key is made once and kept in MongoDB (`keys`), so every replica signs alike and no
secret needs configuring.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from lulea.storage.namespace.busy import retrying
from lulea.storage.namespace.errors import Hadoop, StorageError

GRANT_SECONDS = 60
TOKEN_SECONDS = 24 * 3600
TOKEN_MAX_SECONDS = 7 * 24 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def invalid_token(message: str) -> StorageError:
    return StorageError(Hadoop.SECURITY, message)


class Signer:
    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    async def from_database(cls, db: AsyncDatabase[dict[str, Any]]) -> Signer:
        keys = db["keys"]
        with contextlib.suppress(DuplicateKeyError):
            await keys.insert_one({"_id": "hmac", "key": secrets.token_bytes(32)})
        doc = await keys.find_one({"_id": "hmac"})
        assert doc is not None
        return cls(bytes(doc["key"]))

    def sign(self, claims: dict[str, Any]) -> str:
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        mac = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
        return f"{body}.{_b64(mac)}"

    def verify(self, token: str) -> dict[str, Any]:
        body, _, mac = token.partition(".")
        try:
            expected = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
            if not mac or not hmac.compare_digest(expected, _unb64(mac)):
                raise invalid_token("the signature does not verify")
            claims = json.loads(_unb64(body))
        except (ValueError, TypeError):
            raise invalid_token("malformed token") from None
        if not isinstance(claims, dict) or float(claims.get("exp", 0)) < time.time():
            raise invalid_token("the token has expired")
        return claims

    def grant(self, caller: dict[str, Any], op: str, path: str, params: dict[str, str]) -> str:
        return self.sign({"k": "grant", "c": caller, "o": op, "p": path, "q": params,
                          "exp": int(time.time()) + GRANT_SECONDS})

    def check_grant(self, token: str, op: str, path: str) -> tuple[dict[str, Any], dict[str, str]]:
        claims = self.verify(token)
        if claims.get("k") != "grant" or claims.get("o") != op or claims.get("p") != path:
            raise invalid_token(f"the grant is not for {op} on {path}")
        return dict(claims["c"]), dict(claims.get("q") or {})


class DelegationTokens:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], signer: Signer) -> None:
        self.tokens = retrying(db["delegation_tokens"])
        self.signer = signer

    async def issue(self, caller: dict[str, Any], renewer: str | None) -> str:
        id_ = secrets.token_hex(16)
        now = time.time()
        await self.tokens.insert_one({"_id": id_, "caller": caller, "renewer": renewer,
                                      "expires": now + TOKEN_SECONDS, "max": now + TOKEN_MAX_SECONDS})
        return self.signer.sign({"k": "dt", "i": id_, "exp": int(now + TOKEN_MAX_SECONDS)})

    async def _record(self, token: str) -> dict[str, Any]:
        claims = self.signer.verify(token)
        if claims.get("k") != "dt":
            raise invalid_token("not a delegation token")
        doc = await self.tokens.find_one({"_id": claims["i"]})
        if doc is None or float(doc["expires"]) < time.time():
            raise invalid_token("the delegation token is cancelled or expired")
        return doc

    async def caller(self, token: str) -> dict[str, Any]:
        return dict((await self._record(token))["caller"])

    async def renew(self, token: str) -> int:
        doc = await self._record(token)
        expires = min(time.time() + TOKEN_SECONDS, float(doc["max"]))
        await self.tokens.update_one({"_id": doc["_id"]}, {"$set": {"expires": expires}})
        return int(expires * 1000)

    async def cancel(self, token: str) -> None:
        doc = await self._record(token)
        await self.tokens.delete_one({"_id": doc["_id"]})
