"""The `lulea` CLI's argument handling and its error messages (Typer's CliRunner)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lulea.sdk.cli.app import app
from lulea.sdk.cluster import Kubeconfig
from lulea.sdk.errors import LuleaError

from .conftest import ThrowawayCa
from .gateway_standin import serve

runner = CliRunner()


@pytest.fixture
def laptop(tmp_path: Path) -> dict[str, str]:
    """A laptop that never logged in (no job variables)."""
    return {"LULEA_CONFIG_DIR": str(tmp_path / "config"), "LULEA_PROJECT": "",
            "KUBECONFIG": str(tmp_path / "none")}


def test_no_command_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "login" in result.output and "datasets" in result.output


def test_whoami_before_login_says_log_in(laptop: dict[str, str]) -> None:
    result = runner.invoke(app, ["whoami"], env=laptop)
    assert result.exit_code == 1
    assert "not logged in to Lulea: run `lulea login --project <project>`" in result.output


def test_whoami_in_a_job(job_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["whoami"], env=job_env)
    assert result.exit_code == 0, result.output
    assert "p1__alice" in result.output and "train" in result.output and "h left" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["login", "--project", "Bad_Name"], "'Bad_Name' is not a project name"),
    (["login", "--project", "p1"], "no kubeconfig at"),
    (["logout", "--project", "p1"], "no saved login for p1"),
    (["jobs", "wait", "train", "--project", "p9"], "no login for project 'p9'"),
    (["topics", "consume", "clicks", "--group", "g"], "not logged in"),
])
def test_errors_say_what_to_do(laptop: dict[str, str], args: list[str], message: str) -> None:
    result = runner.invoke(app, args, env=laptop)
    assert result.exit_code == 1, result.output
    assert message in result.output.replace("\n", " ")


@pytest.mark.parametrize(("args", "message"), [
    (["topics", "consume", "clicks"], "Missing option '--group'"),
    (["topics", "consume", "clicks", "-g", "a", "--max", "0"], "--max"),
    (["datasets", "put", "/no/such/file", "ds/x"], "does not exist"),
    (["login"], "Missing option '--project'"),
])
def test_bad_arguments_are_usage_errors(laptop: dict[str, str], args: list[str], message: str) -> None:
    result = runner.invoke(app, args, env=laptop)
    assert result.exit_code == 2
    assert message in result.output


def test_rm_refuses_the_project_root(job_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["datasets", "rm", "/", "-r"], env=job_env)
    assert result.exit_code == 1 and "refusing to remove the project's root" in result.output


def test_jobs_wait_inside_a_job_says_use_kubectl(job_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["jobs", "wait", "train"], env=job_env)
    assert result.exit_code == 1 and "kubectl" in result.output


@pytest.fixture
def gateway_env(test_ca: ThrowawayCa, tmp_path: Path, job_env: dict[str, str]) -> Iterator[dict[str, str]]:
    with serve(test_ca, tmp_path) as (url, _):
        yield {**job_env, "LULEA_LOGS_URL": url}


def test_jobs_logs_prints_the_jobs_lines_oldest_first(gateway_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["jobs", "logs", "train", "--pods"], env=gateway_env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["[train-0] epoch 1 loss 0.3", "[train-0] epoch 2 loss 0.1"]
    grep = runner.invoke(app, ["jobs", "logs", "train", "--grep", "epoch 2"], env=gateway_env)
    assert grep.output.splitlines() == ["epoch 2 loss 0.1"]


def test_jobs_logs_of_another_project_says_ask_a_data_owner(gateway_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["jobs", "logs", "train"], env={**gateway_env, "LULEA_PROJECT": "p2"})
    assert result.exit_code == 1
    assert "alice is not a member of p2; ask a DataOwner of p2" in result.output.replace("\n", " ")


# -- the kubeconfig `lulea login` starts from ------------------------------------------------------

def kubeconfig(tmp_path: Path, user: dict[str, object]) -> Path:
    (tmp_path / "ca.crt").write_text("CA")
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "local",
           "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443/",
                                                  "certificate-authority": "ca.crt"}}],
           "users": [{"name": "u", "user": user}],
           "contexts": [{"name": "local", "context": {"cluster": "c", "user": "u", "namespace": "p1"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_token_user(tmp_path: Path) -> None:
    kube = Kubeconfig.load(kubeconfig(tmp_path, {"token": "t0k"}))
    assert (kube.server, kube.token, kube.ca_pem) == ("https://127.0.0.1:6443", "t0k", b"CA")
    assert kube.context == "local" and kube.namespace == "p1"


def test_a_token_file_user_and_KUBECONFIG(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("from-file\n")
    path = kubeconfig(tmp_path, {"tokenFile": "token"})
    assert Kubeconfig.load(environ={"KUBECONFIG": f"/missing:{path}"}).token == "from-file"


def test_an_exec_plugin_user(tmp_path: Path) -> None:
    script = tmp_path / "plugin.py"
    script.write_text("import json, os\nprint(json.dumps({'kind': 'ExecCredential', "
                      "'status': {'token': os.environ['GIVE']}}))\n")
    path = kubeconfig(tmp_path, {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                                          "command": sys.executable, "args": [str(script)],
                                          "env": [{"name": "GIVE", "value": "oidc-token"}]}})
    assert Kubeconfig.load(path).token == "oidc-token"


def test_a_client_certificate_user_cannot_log_in(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path, {"client-certificate": "a.crt", "client-key": "a.key"})
    with pytest.raises(LuleaError, match="has no bearer token"):
        Kubeconfig.load(path)


def test_an_unknown_context(tmp_path: Path) -> None:
    with pytest.raises(LuleaError, match="no context 'other'"):
        Kubeconfig.load(kubeconfig(tmp_path, {"token": "t"}), context="other")


def test_saved_login_is_listed_in_config_json(tmp_path: Path) -> None:
    from lulea.sdk.config import Endpoints, save_login

    from .conftest import make_member_cert

    cert, key, ca = make_member_cert("p1__alice")
    save_login(tmp_path, "p1", "alice", Endpoints(ca_url="https://ca"), cert_pem=cert, key_pem=key, ca_pem=ca)
    result = runner.invoke(app, ["whoami"], env={"LULEA_CONFIG_DIR": str(tmp_path), "LULEA_PROJECT": ""})
    assert result.exit_code == 0 and "p1__alice" in result.output
    assert json.loads((tmp_path / "config.json").read_text())["projects"]["p1"]["endpoints"] == {
        "ca_url": "https://ca"}
    out = runner.invoke(app, ["logout", "-p", "p1"], env={"LULEA_CONFIG_DIR": str(tmp_path)})
    assert out.exit_code == 0 and "logged out of p1" in out.output
