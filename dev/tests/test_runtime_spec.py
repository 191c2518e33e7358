"""The local runtime's pure rules: env (valueFrom, $(VAR)), mount paths, volumes, GPUs, phases."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from lulea.devstack.runtime import spec as S
from lulea.devstack.runtime.volumes import File, Token, volume_files

Obj = dict[str, Any]
ROOT = Path("/r/rootfs")


def pod(**spec: Any) -> Obj:
    return {"metadata": {"name": "p-0", "namespace": "ns", "uid": "u1", "labels": {"a": "1"},
                         "annotations": {"note": "x"}},
            "spec": {"nodeName": "n1", "serviceAccountName": "sa", **spec},
            "status": {"hostIP": "10.0.0.1"}}


SOURCES = S.Sources(secrets={"s": {"user": b"alice", "tls.crt": b"CERT"}},
                    config_maps={"cm": {"mode": b"fast", "main.py": b"print(1)"}})


def test_env_in_order_with_value_from_and_expansion() -> None:
    c = {"name": "main", "resources": {"limits": {"cpu": "2"}},
         "envFrom": [{"configMapRef": {"name": "cm"}, "prefix": "CM_"}],
         "env": [{"name": "USER_", "valueFrom": {"secretKeyRef": {"name": "s", "key": "user"}}},
                 {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "mode"}}},
                 {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['a']"}}},
                 {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                 {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                 {"name": "GREETING", "value": "$(USER_) on $(NODE), $(UNDEFINED), $$(POD)"},
                 {"name": "OPT",
                  "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k", "optional": True}}}]}
    env = S.container_env(pod(), c, SOURCES, {"PATH": "/venv/bin"})
    assert env["PATH"] == "/venv/bin" and env["CM_mode"] == "fast"
    assert (env["USER_"], env["MODE"], env["POD"], env["A"], env["NODE"], env["CPU"]) == (
        "alice", "fast", "p-0", "1", "n1", "2")
    assert env["GREETING"] == "alice on n1, $(UNDEFINED), $(POD)"
    assert "OPT" not in env


@pytest.mark.parametrize(("ref", "words"), [
    ({"secretKeyRef": {"name": "nope", "key": "k"}}, "Secret 'nope' not found"),
    ({"secretKeyRef": {"name": "s", "key": "nokey"}}, "key 'nokey' in Secret 's' not found"),
    ({"configMapKeyRef": {"name": "nope", "key": "k"}}, "ConfigMap 'nope' not found"),
    ({"fieldRef": {"fieldPath": "spec.weird"}}, "not supported"),
])
def test_a_missing_reference_is_a_config_error(ref: Obj, words: str) -> None:
    with pytest.raises(S.ConfigError, match=words):
        S.container_env(pod(), {"name": "main", "env": [{"name": "X", "valueFrom": ref}]}, SOURCES, {})


def test_mount_paths_move_under_the_pods_root_everywhere() -> None:
    c = {"name": "main", "command": ["python", "/scripts/main.py"],
         "args": ["--certs=/x", "$(CERTS)/tls.crt"],
         "workingDir": "/work", "volumeMounts": [{"name": "s", "mountPath": "/scripts"},
                                                 {"name": "c", "mountPath": "/var/run/lulea/certs"}]}
    env = S.remap_env({"CERTS": "/var/run/lulea/certs", "OTHER": "/var/run/lulea", "T": "/scriptsX"}, c, ROOT)
    assert env == {"CERTS": "/r/rootfs/var/run/lulea/certs", "OTHER": "/var/run/lulea", "T": "/scriptsX"}
    assert S.argv(c, env, ROOT) == ["python", "/r/rootfs/scripts/main.py", "--certs=/x",
                                    "/r/rootfs/var/run/lulea/certs/tls.crt"]
    assert S.working_dir(c, ROOT) == Path("/r/rootfs/work")


def test_no_command_is_no_argv() -> None:
    assert S.argv({"name": "main", "args": ["x"]}, {}, ROOT) == []


def test_volumes_as_files() -> None:
    p = pod()
    secret = volume_files(p, {"name": "v", "secret": {"secretName": "s", "defaultMode": 0o400}}, SOURCES)
    assert secret == [File("tls.crt", b"CERT", 0o400), File("user", b"alice", 0o400)]
    wanted = {"name": "cm", "items": [{"key": "main.py", "path": "a/m.py"}]}
    items = volume_files(p, {"name": "v", "configMap": wanted}, SOURCES)
    assert items == [File("a/m.py", b"print(1)", 0o644)]
    assert volume_files(p, {"name": "v", "emptyDir": {}}, SOURCES) is None
    assert volume_files(p, {"name": "v", "secret": {"secretName": "gone", "optional": True}}, SOURCES) == []
    projected = volume_files(p, {"name": "kube-api-access", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"configMap": {"name": "cm", "items": [{"key": "mode", "path": "mode"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
    ]}}, SOURCES)
    assert projected == [File("token", Token(None, 3607), 0o600), File("mode", b"fast", 0o644),
                         File("namespace", b"ns", 0o644)]
    with pytest.raises(S.ConfigError, match="persistentVolumeClaim is not supported"):
        volume_files(p, {"name": "v", "persistentVolumeClaim": {"claimName": "c"}}, SOURCES)
    with pytest.raises(S.ConfigError, match="Secret 'gone' not found"):
        volume_files(p, {"name": "v", "secret": {"secretName": "gone"}}, SOURCES)


def test_secret_data_decodes() -> None:
    assert S.secret_data({"data": {"k": base64.b64encode(b"v").decode()}}) == {"k": b"v"}


def test_kwok_plays_only_annotated_pods() -> None:
    assert S.simulated({"metadata": {"annotations": {"sim.lulea.io/outcome": "Succeeded"}}})
    assert S.simulated({"metadata": {"annotations": {"sim.lulea.io/duration": "1s"}}})
    assert not S.simulated({"metadata": {"annotations": {"lulea.io/priority": "0"}}})
    assert not S.simulated({"metadata": {}})


def test_gpus_lowest_free_first_and_none_when_short() -> None:
    assert S.assign_gpus(8, {0, 1}, 3) == [2, 3, 4]
    assert S.assign_gpus(4, {0, 1, 2}, 2) is None
    assert S.assign_gpus(0, set(), 0) == []
    assert S.gpus_wanted({"resources": {"limits": {"nvidia.com/gpu": "2"}}}) == 2


def test_phase() -> None:
    assert S.pod_phase([0, None]) == "Running"
    assert S.pod_phase([0, 0]) == "Succeeded"
    assert S.pod_phase([0, 3]) == "Failed"


def test_cri_log_dir_is_the_kubelets() -> None:
    assert S.log_dir(Path("/logs"), pod()) == Path("/logs/ns_p-0_u1")
