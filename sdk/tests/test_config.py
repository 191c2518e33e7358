"""Where the SDK finds its configuration: a job's environment, else the saved login."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lulea.sdk
from lulea.sdk.config import Endpoints, config_dir, forget_login, resolve, save_login
from lulea.sdk.errors import NotConfigured, NotLoggedIn

from .conftest import make_member_cert


def test_inside_a_job_login_needs_no_arguments(job_env: dict[str, str], cert_dir: Path) -> None:
    project = lulea.sdk.login(environ=job_env)
    assert project.name == "p1"
    assert project.config.in_job and project.config.job == "train"
    assert project.config.certificate is not None
    assert project.config.certificate.cert == cert_dir / "tls.crt"
    assert project.config.endpoints.kafka_bootstrap == "127.0.0.1:9093"
    me = lulea.sdk.whoami(environ=job_env)
    assert (me.project, me.user, me.principal, me.job) == ("p1", "alice", "p1__alice", "train")
    assert me.not_after is not None


def test_a_job_without_LULEA_USER_takes_the_user_from_its_certificate(job_env: dict[str, str]) -> None:
    del job_env["LULEA_USER"]
    assert lulea.sdk.whoami(environ=job_env).user == "alice"


@pytest.mark.parametrize(("env", "expected"), [
    ({"LULEA_CONFIG_DIR": "/x/override", "XDG_CONFIG_HOME": "/x/xdg"}, "/x/override"),
    ({"XDG_CONFIG_HOME": "/x/xdg"}, "/x/xdg/lulea"),
    ({}, str(Path.home() / ".config" / "lulea")),
])
def test_the_config_directory(env: dict[str, str], expected: str) -> None:
    assert str(config_dir(env)) == expected


def _save(directory: Path, project: str, user: str = "alice", days: float = 1.0) -> None:
    cert, key, ca = make_member_cert(f"{project}__{user}", days=days)
    save_login(directory, project, user,
               Endpoints(kafka_bootstrap="127.0.0.1:1", schema_registry_url="https://127.0.0.1:2"),
               cert_pem=cert, key_pem=key, ca_pem=ca)


def test_on_a_laptop_login_reads_what_lulea_login_saved(tmp_path: Path) -> None:
    env = {"LULEA_CONFIG_DIR": str(tmp_path)}
    _save(tmp_path, "p1")
    _save(tmp_path, "p2")
    assert lulea.sdk.login(environ=env).name == "p2"  # the last login is current
    p1 = lulea.sdk.login("p1", environ=env)
    assert p1.name == "p1" and not p1.config.in_job and p1.config.user == "alice"
    assert p1.config.endpoints.schema_registry_url == "https://127.0.0.1:2"
    key = tmp_path / "projects" / "p1" / "tls.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o600
    assert json.loads((tmp_path / "config.json").read_text())["current"] == "p2"


def test_an_endpoint_variable_overrides_the_saved_one(tmp_path: Path) -> None:
    _save(tmp_path, "p1")
    env = {"LULEA_CONFIG_DIR": str(tmp_path), "LULEA_KAFKA_BOOTSTRAP": "kafka:9093"}
    assert resolve(None, env).endpoints.kafka_bootstrap == "kafka:9093"


def test_a_job_may_still_open_another_saved_login(tmp_path: Path, job_env: dict[str, str]) -> None:
    _save(tmp_path, "p2")
    env = {**job_env, "LULEA_CONFIG_DIR": str(tmp_path)}
    assert lulea.sdk.login(environ=env).name == "p1"
    assert lulea.sdk.login("p2", environ=env).config.source == str(tmp_path)


@pytest.mark.parametrize(("setup", "project", "message"), [
    (None, None, "run `lulea login --project <project>`"),
    ("p1", "p3", "no login for project 'p3' (logged in to: p1); run `lulea login --project p3`"),
])
def test_not_logged_in_says_what_to_do(tmp_path: Path, setup: str | None, project: str | None,
                                       message: str) -> None:
    if setup:
        _save(tmp_path, setup)
    with pytest.raises(NotLoggedIn) as err:
        lulea.sdk.login(project, environ={"LULEA_CONFIG_DIR": str(tmp_path)})
    assert message in str(err.value)


def test_an_expired_login_says_log_in_again(tmp_path: Path) -> None:
    _save(tmp_path, "p1", days=-1)
    with pytest.raises(NotLoggedIn, match=r"expired at .*; run `lulea login --project p1`"):
        lulea.sdk.login(environ={"LULEA_CONFIG_DIR": str(tmp_path)})


def test_a_corrupt_config_file_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(NotLoggedIn, match="run `lulea login` again"):
        lulea.sdk.login(environ={"LULEA_CONFIG_DIR": str(tmp_path)})


def test_forget_login_moves_current_to_another_project(tmp_path: Path) -> None:
    _save(tmp_path, "p1")
    _save(tmp_path, "p2")
    assert forget_login(tmp_path, "p2")
    assert not (tmp_path / "projects" / "p2" / "tls.key").exists()
    assert lulea.sdk.login(environ={"LULEA_CONFIG_DIR": str(tmp_path)}).name == "p1"
    assert not forget_login(tmp_path, "p2")


def test_save_refuses_a_name_that_is_no_project(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a project name"):
        save_login(tmp_path, "../etc", "alice", Endpoints(), cert_pem=b"", key_pem=b"", ca_pem=b"")


def test_a_missing_endpoint_says_which_variable(job_env: dict[str, str]) -> None:
    del job_env["LULEA_KAFKA_BOOTSTRAP"]
    with pytest.raises(NotConfigured, match="LULEA_KAFKA_BOOTSTRAP"):
        lulea.sdk.login(environ=job_env).kafka.config()
