"""Domain errors of the CA and their wire codes (turned into HTTP at the edge only)."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """Wire codes: the first three digits are the HTTP status."""

    INVALID_REQUEST = 42200
    MALFORMED_CSR = 42201
    UNSUPPORTED_KEY = 42202
    BAD_SUBJECT = 42203
    BAD_SAN = 42204
    UNAUTHENTICATED = 40101
    SUBJECT_NOT_ALLOWED = 40301
    CERTIFICATE_NOT_FOUND = 40401
    CA_NOT_READY = 50301

    @property
    def http_status(self) -> int:
        return int(self) // 100


class CaError(Exception):
    """A refusal the caller can act on; the message never holds key material."""

    code: ErrorCode = ErrorCode.MALFORMED_CSR

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class MalformedCsr(CaError):
    code = ErrorCode.MALFORMED_CSR


class UnsupportedKey(CaError):
    code = ErrorCode.UNSUPPORTED_KEY


class BadSubject(CaError):
    code = ErrorCode.BAD_SUBJECT


class SubjectNotAllowed(CaError):
    code = ErrorCode.SUBJECT_NOT_ALLOWED


class Unauthenticated(CaError):
    code = ErrorCode.UNAUTHENTICATED
