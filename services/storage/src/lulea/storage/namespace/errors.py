"""The storage's errors are Hadoop's: each names the Java exception a WebHDFS client expects
and the HTTP status WebHDFS's ExceptionHandler gives it (IOException and its kin 403,
FileNotFound 404, IllegalArgument/UnsupportedOperation 400, Security 401)."""

from __future__ import annotations

from enum import Enum


class Hadoop(Enum):
    """(exception simple name, Java package, HTTP status)."""

    FILE_NOT_FOUND = ("FileNotFoundException", "java.io", 404)
    ACCESS_CONTROL = ("AccessControlException", "org.apache.hadoop.security", 403)
    ALREADY_EXISTS = ("FileAlreadyExistsException", "org.apache.hadoop.fs", 403)
    NOT_EMPTY = ("PathIsNotEmptyDirectoryException", "org.apache.hadoop.fs", 403)
    NOT_A_DIRECTORY = ("ParentNotDirectoryException", "org.apache.hadoop.fs", 403)
    DS_QUOTA = ("DSQuotaExceededException", "org.apache.hadoop.hdfs.protocol", 403)
    NS_QUOTA = ("NSQuotaExceededException", "org.apache.hadoop.hdfs.protocol", 403)
    IO = ("IOException", "java.io", 403)
    ILLEGAL_ARGUMENT = ("IllegalArgumentException", "java.lang", 400)
    INVALID_PATH = ("InvalidPathException", "org.apache.hadoop.fs", 400)
    UNSUPPORTED = ("UnsupportedOperationException", "java.lang", 400)
    SECURITY = ("SecurityException", "java.lang", 401)
    RETRIABLE = ("RetriableException", "org.apache.hadoop.ipc", 503)

    @property
    def exception(self) -> str:
        return self.value[0]

    @property
    def java_class(self) -> str:
        return f"{self.value[1]}.{self.value[0]}"

    @property
    def status(self) -> int:
        return self.value[2]


class StorageError(Exception):
    def __init__(self, kind: Hadoop, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message

    def remote_exception(self) -> dict[str, dict[str, str]]:
        return {"RemoteException": {"exception": self.kind.exception, "message": self.message,
                                    "javaClassName": self.kind.java_class}}


def not_found(path: str) -> StorageError:
    return StorageError(Hadoop.FILE_NOT_FOUND, f"File does not exist: {path}")


def illegal(message: str) -> StorageError:
    return StorageError(Hadoop.ILLEGAL_ARGUMENT, message)


def denied(message: str) -> StorageError:
    return StorageError(Hadoop.ACCESS_CONTROL, message)
