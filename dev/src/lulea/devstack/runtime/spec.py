"""What a container of a pod becomes as a local process: pure functions of the pod and of the
objects it references, unit-tested (dev/tests/test_runtime_spec.py).

The rules (docs/runtime.md says the same for users):
- the image is not pulled: `command` + `args` run as they are, with the platform's Python
  environment first on PATH (`python` is the repository's virtualenv);
- every volume is materialised as files under the pod's root, `<pod>/rootfs<mountPath>`; any
  env value, command or arg token, or workingDir that is a mount path or under one is rewritten
  to the same path under the pod's root (there is no mount namespace);
- `$(VAR)` in env values, command and args expands as the kubelet expands it (`$$` escapes);
- CUDA_VISIBLE_DEVICES names the GPUs the runtime assigned the container on its node.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Obj = dict[str, Any]
SIM_PREFIX = "sim.lulea.io/"
GPU = "nvidia.com/gpu"
POD_IP = "127.0.0.1"  # every pod shares the host's loopback: there is no pod network


class ConfigError(Exception):
    """A reference the pod needs is missing (CreateContainerConfigError in the kubelet's words)."""


def simulated(pod: Obj) -> bool:
    """kwok's stages play pods that carry any `sim.lulea.io/*` annotation; the runtime runs the rest."""
    return any(k.startswith(SIM_PREFIX) for k in (pod["metadata"].get("annotations") or {}))


def log_dir(root: Path, pod: Obj) -> Path:
    """The kubelet's layout: `<root>/<namespace>_<pod>_<uid>/<container>/<restart>.log`."""
    meta = pod["metadata"]
    return root / f"{meta['namespace']}_{meta['name']}_{meta['uid']}"


def gpus_wanted(container: Obj) -> int:
    res = container.get("resources") or {}
    return int((res.get("limits") or {}).get(GPU) or (res.get("requests") or {}).get(GPU) or 0)


def assign_gpus(capacity: int, taken: set[int], want: int) -> list[int] | None:
    """The lowest free device indices on the node, or None if fewer than `want` are free."""
    free = [i for i in range(capacity) if i not in taken]
    return free[:want] if len(free) >= want else None


_VAR = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined names expand, undefined stay as written, `$$` → `$`."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)
    return _VAR.sub(sub, value)


def field_value(pod: Obj, path: str) -> str:
    """A downward-API fieldRef (env or volume): metadata, spec.nodeName, status IPs."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    simple = {
        "metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        "status.hostIP": status.get("hostIP") or POD_IP, "status.podIP": POD_IP,
        "status.podIPs": POD_IP, "status.hostIPs": status.get("hostIP") or POD_IP,
    }
    if path not in simple:
        raise ConfigError(f"fieldRef {path!r} is not supported by the local runtime")
    return str(simple[path] or "")


def resource_value(container: Obj, ref: Obj) -> str:
    res = ref.get("resource", "")
    kind, _, name = res.partition(".")
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    return str(value) if value is not None else "0"


@dataclass(frozen=True)
class Sources:
    """The Secrets and ConfigMaps of the pod's namespace, by name (data already decoded)."""

    secrets: Mapping[str, Mapping[str, bytes]]
    config_maps: Mapping[str, Mapping[str, bytes]]


def secret_data(secret: Obj) -> dict[str, bytes]:
    out = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    out.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return out


def config_map_data(cm: Obj) -> dict[str, bytes]:
    out = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
    out.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    return out


def _key_ref(kind: str, found: Mapping[str, Mapping[str, bytes]], ref: Obj) -> str | None:
    name, key, optional = ref.get("name", ""), ref["key"], bool(ref.get("optional"))
    data = found.get(name)
    if data is None or key not in data:
        if optional:
            return None
        what = f"{kind} {name!r}" if data is None else f"key {key!r} in {kind} {name!r}"
        raise ConfigError(f"{what} not found")
    return data[key].decode(errors="replace")


def referenced(pod: Obj) -> tuple[set[str], set[str]]:
    """Names of the Secrets and ConfigMaps the pod's env and volumes read."""
    secrets: set[str] = set()
    cms: set[str] = set()
    spec = pod.get("spec") or {}
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for e in c.get("env") or ():
            src = e.get("valueFrom") or {}
            if "secretKeyRef" in src:
                secrets.add(src["secretKeyRef"].get("name", ""))
            if "configMapKeyRef" in src:
                cms.add(src["configMapKeyRef"].get("name", ""))
        for f in c.get("envFrom") or ():
            if "secretRef" in f:
                secrets.add(f["secretRef"].get("name", ""))
            if "configMapRef" in f:
                cms.add(f["configMapRef"].get("name", ""))
    for v in spec.get("volumes") or ():
        if "secret" in v:
            secrets.add(v["secret"].get("secretName", ""))
        if "configMap" in v:
            cms.add(v["configMap"].get("name", ""))
        for s in (v.get("projected") or {}).get("sources") or ():
            if "secret" in s:
                secrets.add(s["secret"].get("name", ""))
            if "configMap" in s:
                cms.add(s["configMap"].get("name", ""))
    return secrets, cms


def container_env(pod: Obj, container: Obj, sources: Sources, base: Mapping[str, str]) -> dict[str, str]:
    """The process environment: `base` (PATH, HOME, ...), then envFrom, then env in order."""
    env = dict(base)
    for f in container.get("envFrom") or ():
        prefix = f.get("prefix", "")
        if "secretRef" in f or "configMapRef" in f:
            kind, ref = ("Secret", f["secretRef"]) if "secretRef" in f else ("ConfigMap", f["configMapRef"])
            found = sources.secrets if kind == "Secret" else sources.config_maps
            data = found.get(ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f"{kind} {ref.get('name')!r} not found")
            for k, v in data.items():
                env[prefix + k] = v.decode(errors="replace")
    for e in container.get("env") or ():
        name, src = e["name"], e.get("valueFrom")
        if src is None:
            env[name] = expand(e.get("value", ""), env)
        elif "fieldRef" in src:
            env[name] = field_value(pod, src["fieldRef"]["fieldPath"])
        elif "resourceFieldRef" in src:
            env[name] = resource_value(container, src["resourceFieldRef"])
        elif "secretKeyRef" in src:
            if (value := _key_ref("Secret", sources.secrets, src["secretKeyRef"])) is not None:
                env[name] = value
        elif "configMapKeyRef" in src:
            if (value := _key_ref("ConfigMap", sources.config_maps, src["configMapKeyRef"])) is not None:
                env[name] = value
        else:
            raise ConfigError(f"env {name}: valueFrom {sorted(src)} is not supported by the local runtime")
    return env


def remap(value: str, mounts: list[str], rootfs: Path) -> str:
    """A mount path, or a path under one, moved under the pod's root; anything else as it is."""
    for mount in mounts:
        m = mount.rstrip("/")
        if value == m or value.startswith(m + "/"):
            return f"{rootfs}{value}"
    return value


def mount_paths(container: Obj) -> list[str]:
    """Longest first, so a mount inside another is matched before its parent."""
    return sorted((m["mountPath"] for m in container.get("volumeMounts") or ()), key=len, reverse=True)


def argv(container: Obj, env: Mapping[str, str], rootfs: Path) -> list[str]:
    """command + args with `$(VAR)` expanded and mount paths remapped. Empty: no command given."""
    mounts = mount_paths(container)
    words = [*(container.get("command") or []), *(container.get("args") or [])]
    if not container.get("command"):
        return []  # the image's entrypoint would run: there is no image here
    return [remap(expand(w, env), mounts, rootfs) for w in words]


def remap_env(env: Mapping[str, str], container: Obj, rootfs: Path) -> dict[str, str]:
    mounts = mount_paths(container)
    return {k: remap(v, mounts, rootfs) for k, v in env.items()}


def working_dir(container: Obj, rootfs: Path) -> Path:
    """workingDir under the pod's root (created by the caller); the root itself by default."""
    wd = container.get("workingDir")
    return Path(f"{rootfs}{wd}") if wd else rootfs


def now_status_container(container: Obj, state: Obj, *, restarts: int = 0) -> Obj:
    running = "running" in state
    return {"name": container["name"], "image": container.get("image", ""), "imageID": "",
            "containerID": f"lulea-local://{container['name']}", "ready": running,
            "started": running, "restartCount": restarts, "state": state}


def pod_phase(results: list[int | None]) -> str:
    """Running while any container runs; then Succeeded if every one exited 0, else Failed."""
    if any(r is None for r in results):
        return "Running"
    return "Succeeded" if all(r == 0 for r in results) else "Failed"
