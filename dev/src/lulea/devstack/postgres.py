"""PostgreSQL under FerretDB: FerretDB v1's main backend, one cluster per stack under its state dir.

The cluster is made on first start (`initdb`), runs as a process like the others (`postgres -D`),
and listens on 127.0.0.1 only, with `trust` for loopback connections: any local user can reach it,
as any local user can reach FerretDB's own MongoDB port (which has no authentication in the dev
stack either), so a password here would protect nothing FerretDB's port does not give away.
Its Unix socket lives in a 0700 directory of the cluster's owner.

PostgreSQL refuses to run as root. Run as root (our CI and dev machines), initdb and postgres run
as the `postgres` system user (the Debian package creates it) through `setpriv`, which execs
in place: the pid the stack records is postgres' own.

Durability is traded for speed as for etcd (`--unsafe-no-fsync`): fsync, synchronous commit and
full-page writes are off. A crashed dev database can lose its last writes; `make down` is clean.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

from lulea.devstack.layout import Layout

DATABASE = "ferretdb"          # the database FerretDB keeps its MongoDB databases in (as schemas)
SUPERUSER = "postgres"
RUN_AS = "postgres"            # when we are root


def bin_dir() -> Path | None:
    """Where PostgreSQL's server binaries are: LULEA_POSTGRES_BIN, else the newest Debian
    /usr/lib/postgresql/<major>/bin, else `postgres` on PATH. None if there are none."""
    candidates: list[Path] = []
    if os.environ.get("LULEA_POSTGRES_BIN"):
        candidates.append(Path(os.environ["LULEA_POSTGRES_BIN"]))
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(d) for d in debian), key=lambda p: _major(p.parent.name), reverse=True)
    found = shutil.which("postgres")
    if found:
        candidates.append(Path(found).resolve().parent)
    for d in candidates:
        if all((d / tool).is_file() for tool in ("postgres", "initdb", "pg_isready", "psql")):
            return d
    return None


def _major(name: str) -> int:
    return int(name) if name.isdigit() else 0


def _run_as() -> pwd.struct_passwd | None:
    """The user the cluster runs as when we are root (None when we are not root)."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwnam(RUN_AS)


def unavailable(layout: Layout) -> str | None:
    """Why this stack cannot run PostgreSQL (then FerretDB falls back to SQLite), or None."""
    if os.environ.get("LULEA_DATABASE_BACKEND", "").lower() == "sqlite":
        return "LULEA_DATABASE_BACKEND=sqlite"
    if bin_dir() is None:
        return "no PostgreSQL server found (/usr/lib/postgresql/*/bin, LULEA_POSTGRES_BIN, PATH)"
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam(RUN_AS)
        except KeyError:
            return f"running as root and there is no {RUN_AS!r} user to run PostgreSQL as"
        # the cluster's owner must be able to reach its directory
        for parent in layout.state_dir.resolve().parents:
            st = parent.stat()
            if not (st.st_mode & 0o001 or (st.st_uid == user.pw_uid and st.st_mode & 0o100)):
                return f"running as root and {RUN_AS!r} cannot enter {parent}"
    return None


def data_dir(layout: Layout) -> Path:
    return layout.state_dir / "postgres"


def socket_dir(layout: Layout) -> Path:
    return layout.state_dir / "postgres-socket"


def _socket_flag(layout: Layout) -> str:
    """A Unix socket path is capped at 107 bytes: under a deep state dir, TCP only."""
    path = socket_dir(layout) / f".s.PGSQL.{layout.port('postgres')}"
    return str(socket_dir(layout)) if len(str(path)) < 100 else ""


def url(layout: Layout) -> str:
    return f"postgres://{SUPERUSER}@127.0.0.1:{layout.port('postgres')}/{DATABASE}"


def _as_user() -> list[str]:
    user = _run_as()
    if user is None:
        return []
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
            "--reset-env", "--"]


def _own(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    user = _run_as()
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


def prepare(layout: Layout) -> None:
    """initdb on first start; a directory left by an interrupted initdb is made again."""
    bins = bin_dir()
    assert bins is not None
    data = data_dir(layout)
    _own(socket_dir(layout))
    if (data / "PG_VERSION").is_file() and (data / "postgresql.conf").is_file():
        return
    shutil.rmtree(data, ignore_errors=True)
    _own(data)
    log = layout.log("postgres-initdb")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        result = subprocess.run(
            [*_as_user(), str(bins / "initdb"), f"--pgdata={data}", f"--username={SUPERUSER}",
             "--auth-local=trust", "--auth-host=trust", "--encoding=UTF8", "--no-locale",
             "--no-sync"], stdout=out, stderr=subprocess.STDOUT, check=False, cwd="/")
    if result.returncode != 0:
        from lulea.devstack.process import StackError

        raise StackError(f"postgres: initdb failed; log: {log}")


def argv(layout: Layout) -> list[str]:
    bins = bin_dir()
    assert bins is not None
    return [
        *_as_user(), str(bins / "postgres"), "-D", str(data_dir(layout)),
        "-p", str(layout.port("postgres")), "-k", _socket_flag(layout),
        "-c", "listen_addresses=127.0.0.1",
        "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        "-c", "max_connections=200", "-c", "log_min_messages=warning",
        # FerretDB's prepared finds use the storage service's GIN indexes only when planned for
        # their parameters (lulea.storage.postgres_indexes); from the start, for every connection
        "-c", "plan_cache_mode=force_custom_plan",
    ]


def _psql(layout: Layout, sql: str) -> subprocess.CompletedProcess[str]:
    bins = bin_dir()
    assert bins is not None
    return subprocess.run(
        [str(bins / "psql"), "-h", "127.0.0.1", "-p", str(layout.port("postgres")), "-U", SUPERUSER,
         "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True, text=True, timeout=10, check=False)


def ready(layout: Layout) -> bool:
    """Accepting connections, and FerretDB's database exists (created here, once)."""
    bins = bin_dir()
    if bins is None:
        return False
    try:
        probe = subprocess.run([str(bins / "pg_isready"), "-q", "-h", "127.0.0.1",
                                "-p", str(layout.port("postgres"))], timeout=5, check=False)
        if probe.returncode != 0:
            return False
        found = _psql(layout, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")
        if found.returncode != 0:
            return False
        if found.stdout.strip() != "1":
            return _psql(layout, f"CREATE DATABASE {DATABASE}").returncode == 0
        return True
    except subprocess.TimeoutExpired:
        return False
