"""A project's datasets as an fsspec filesystem over the storage service's WebHDFS API.

`project.datasets.open("ds/file.parquet")` is `/Projects/<project>/ds/file.parquet` on the
storage service; `pandas.read_parquet(project.datasets.open(...))`, `fs.put(...)`, `fs.ls(...)`
work as on any fsspec filesystem. It is fsspec's own WebHDFS client (`https`, the member's
certificate and key, the platform's trust), rooted at the project's directory by fsspec's
DirFileSystem: paths are relative to the project, and `..` never leaves it (the service
enforces access; this keeps a path from meaning something else than it reads).
`project.datasets.of("p2")` is another project's root, for datasets p2 shared with yours."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from fsspec.implementations.dirfs import DirFileSystem
from fsspec.implementations.webhdfs import WebHDFS

from lulea.sdk.config import PROJECT_NAME, Config
from lulea.sdk.errors import NotConfigured
from lulea.sdk.project import need

ROOT = "/Projects"


def project_root(project: str) -> str:
    if not PROJECT_NAME.match(project):
        raise ValueError(f"{project!r} is not a project name")
    return f"{ROOT}/{project}"


def storage_path(project: str, path: str) -> str:
    """The storage service's path of `path` in `project`'s datasets (`ds/x` -> `/Projects/p/ds/x`)."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"{path!r}: '..' is not allowed in a dataset path")
    return "/".join([project_root(project), *parts])


class PinnedTrustSession(requests.Session):
    """A requests Session whose own `verify` wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.
    requests lets those variables replace a session's verify for every request
    (psf/requests#3829), so on a machine that sets them (conda, corporate proxies, this CI) the
    member's trust bundle was ignored and the storage service's certificate failed to verify.
    A `verify` given to one request still wins, as in requests."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        settings: dict[str, Any] = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None:
            settings["verify"] = self.verify
        return settings


class MemberWebHDFS(WebHDFS):  # type: ignore[misc]
    """fsspec's WebHDFS on a PinnedTrustSession (the same certificate, trust and auth)."""

    def _connect(self) -> None:
        super()._connect()
        plain: requests.Session = self.session  # type: ignore[has-type]  # set by fsspec's _connect
        pinned = PinnedTrustSession()
        pinned.cert, pinned.verify, pinned.auth = plain.cert, plain.verify, plain.auth
        self.session = pinned


def webhdfs(config: Config, **options: Any) -> WebHDFS:
    """fsspec's WebHDFS client for the storage service, authenticated as the member."""
    url = need(config.endpoints.storage_url, "storage", "LULEA_STORAGE_URL")
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme != "https" or not parts.hostname:
        raise NotConfigured(f"the storage endpoint must be an https:// URL, not {url!r}")
    cert = config.certificate
    if cert is None:
        raise NotConfigured("no member certificate: inside a job the platform mounts it at "
                            "LULEA_CERT_DIR; on a laptop run `lulea login`")
    return MemberWebHDFS(parts.hostname, port=parts.port or 443, use_https=True,
                   session_cert=(str(cert.cert), str(cert.key)), session_verify=str(cert.ca),
                   skip_instance_cache=True, **options)


class Datasets(DirFileSystem):  # type: ignore[misc]
    """The project's directory on the storage service (an fsspec filesystem)."""

    def __init__(self, project: str, fs: WebHDFS, config: Config | None = None) -> None:
        super().__init__(path=project_root(project), fs=fs)
        self.project = project
        self._config = config

    def _join(self, path: Any) -> Any:
        if isinstance(path, str):
            return storage_path(self.project, path)
        return super()._join(path)

    def of(self, project: str) -> Datasets:
        """Another project's root (its datasets shared with yours), on the same connection."""
        return Datasets(project, self.fs, self._config)

    def url(self, path: str) -> str:
        """The WebHDFS URL of `path` (for clients that take one, e.g. the `hdfs` package)."""
        return f"{self.fs.url}{storage_path(self.project, path)}"


def datasets(config: Config) -> Datasets:
    return Datasets(config.project, webhdfs(config), config)
