"""Where the SDK finds who it is and where the platform is.

Two places, in this order:

- **Inside a job** the GpuJob operator injected `LULEA_PROJECT`, `LULEA_JOB`, `LULEA_USER`,
  the endpoints (`LULEA_KAFKA_BOOTSTRAP`, `LULEA_SCHEMA_REGISTRY_URL`, `LULEA_STORAGE_URL`,
  `LULEA_LOGS_URL`) and mounted the member's certificate at `LULEA_CERT_DIR` (`tls.crt`,
  `tls.key`, `ca.crt`: the keys of the CA's Secret `lulea-cert-<user>`).
- **On a laptop** `lulea login` saved the same under the config directory:
  `$LULEA_CONFIG_DIR`, else `$XDG_CONFIG_HOME/lulea`, else `~/.config/lulea`. `config.json`
  holds the current project and each project's endpoints; `projects/<project>/` holds the
  member certificate in the same three files a job gets.

Nothing here talks to the network: resolving is reading files and the environment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from lulea.sdk.errors import NotLoggedIn

CONFIG_FILE = "config.json"
CERT, KEY, CA = "tls.crt", "tls.key", "ca.crt"
PROJECT_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Endpoints:
    """The platform's endpoints a member talks to (None: not known here)."""

    kafka_bootstrap: str | None = None  # Kafka's member listener (mTLS)
    schema_registry_url: str | None = None
    storage_url: str | None = None  # the WebHDFS service: https://host:port
    logs_url: str | None = None  # the logs query gateway
    ca_url: str | None = None  # the CA's API (only `lulea login` needs it)

    ENV = {"kafka_bootstrap": "LULEA_KAFKA_BOOTSTRAP", "schema_registry_url": "LULEA_SCHEMA_REGISTRY_URL",
           "storage_url": "LULEA_STORAGE_URL", "logs_url": "LULEA_LOGS_URL", "ca_url": "LULEA_CA_URL"}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Endpoints:
        return cls(**{k: (str(data[k]) if data.get(k) else None) for k in cls.ENV})

    def overridden(self, environ: Mapping[str, str]) -> Endpoints:
        """Each `LULEA_*` endpoint variable that is set wins over the saved value."""
        saved = asdict(self)
        return Endpoints(**{k: environ.get(var) or saved[k] for k, var in self.ENV.items()})


@dataclass(frozen=True)
class Certificate:
    """A member certificate as files: the leaf (+ intermediate), its key, and the trust bundle
    that verifies Lulea's endpoints (the CA's intermediate + root)."""

    cert: Path
    key: Path
    ca: Path

    @classmethod
    def in_directory(cls, directory: Path) -> Certificate:
        return cls(directory / CERT, directory / KEY, directory / CA)

    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificates(self.cert.read_bytes())[0]

    @property
    def common_name(self) -> str:
        names = self.leaf().subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    @property
    def not_after(self) -> dt.datetime:
        return self.leaf().not_valid_after_utc


@dataclass(frozen=True)
class Config:
    project: str
    user: str
    endpoints: Endpoints
    certificate: Certificate | None
    job: str | None = None
    source: str = "job"  # "job", or the config directory a login was read from
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def principal(self) -> str:
        """The member's name on Kafka and every service: `<project>__<user>`."""
        return f"{self.project}__{self.user}"

    @property
    def in_job(self) -> bool:
        return self.source == "job"


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("LULEA_CONFIG_DIR"):
        return Path(env["LULEA_CONFIG_DIR"])
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "lulea"


def resolve(project: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration of the current project: the job's, else the saved login's."""
    env = os.environ if environ is None else environ
    if env.get("LULEA_PROJECT") and project in (None, env["LULEA_PROJECT"]):
        return from_job(env)
    return from_login(config_dir(env), project, env)


def from_job(env: Mapping[str, str]) -> Config:
    project = env["LULEA_PROJECT"]
    cert_dir = env.get("LULEA_CERT_DIR")
    certificate = Certificate.in_directory(Path(cert_dir)) if cert_dir else None
    if certificate is not None and env.get("LULEA_TRUST_FILE"):
        certificate = Certificate(certificate.cert, certificate.key, Path(env["LULEA_TRUST_FILE"]))
    user = env.get("LULEA_USER") or ""
    if not user and certificate is not None and certificate.cert.exists():
        user = certificate.common_name.partition("__")[2]
    return Config(project=project, user=user, endpoints=Endpoints().overridden(env),
                  certificate=certificate, job=env.get("LULEA_JOB") or None, source="job")


def read_saved(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise NotLoggedIn(f"{path} is unreadable ({exc}); run `lulea login` again") from None
    return data if isinstance(data, dict) else {}


def from_login(directory: Path, project: str | None, env: Mapping[str, str]) -> Config:
    saved = read_saved(directory)
    projects: dict[str, Any] = saved.get("projects") or {}
    name = project or saved.get("current")
    if not name:
        raise NotLoggedIn("not logged in to Lulea: run `lulea login --project <project>` "
                          "(inside a Lulea job this is automatic)")
    entry = projects.get(name)
    if entry is None:
        known = ", ".join(sorted(projects)) or "none"
        raise NotLoggedIn(f"no login for project {name!r} (logged in to: {known}); "
                          f"run `lulea login --project {name}`")
    certificate = Certificate.in_directory(directory / "projects" / name)
    return Config(project=name, user=str(entry.get("user", "")),
                  endpoints=Endpoints.from_mapping(entry.get("endpoints") or {}).overridden(env),
                  certificate=certificate, job=None, source=str(directory))


def save_login(directory: Path, project: str, user: str, endpoints: Endpoints, *, cert_pem: bytes,
               key_pem: bytes, ca_pem: bytes, make_current: bool = True) -> Config:
    """Write a login (certificate files first, then config.json, each atomically): a crash
    leaves the previous login or the new one, never half of each."""
    if not PROJECT_NAME.match(project):
        raise ValueError(f"{project!r} is not a project name")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = directory / "projects" / project
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, data, mode in ((KEY, key_pem, 0o600), (CERT, cert_pem, 0o644), (CA, ca_pem, 0o644)):
        _atomic_write(target / name, data, mode)
    saved = read_saved(directory)
    projects = dict(saved.get("projects") or {})
    projects[project] = {"user": user, "endpoints": {k: v for k, v in asdict(endpoints).items() if v}}
    saved["projects"] = projects
    if make_current or not saved.get("current"):
        saved["current"] = project
    _atomic_write(directory / CONFIG_FILE, (json.dumps(saved, indent=2) + "\n").encode(), 0o600)
    return from_login(directory, project, {})


def forget_login(directory: Path, project: str) -> bool:
    saved = read_saved(directory)
    projects = dict(saved.get("projects") or {})
    if projects.pop(project, None) is None:
        return False
    saved["projects"] = projects
    if saved.get("current") == project:
        saved["current"] = next(iter(sorted(projects)), None)
    _atomic_write(directory / CONFIG_FILE, (json.dumps(saved, indent=2) + "\n").encode(), 0o600)
    for name in (KEY, CERT, CA):
        (directory / "projects" / project / name).unlink(missing_ok=True)
    return True


def _atomic_write(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
