"""A pod's volumes as files: which files each volume holds (pure), and writing them out.

Supported: emptyDir, secret, configMap, downwardAPI, projected (secret, configMap, downwardAPI,
serviceAccountToken) and hostPath (a link to the host's path). Files are written once, when the
pod starts: later changes to a Secret or ConfigMap are not propagated, and a projected token is
not refreshed (it is asked for with the pod's expirationSeconds, default one hour).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lulea.devstack.runtime.spec import ConfigError, Sources, field_value

Obj = dict[str, Any]


@dataclass(frozen=True)
class Token:
    """A service-account token the kubelet would ask the TokenRequest API for, bound to the pod."""

    audience: str | None
    seconds: int


@dataclass(frozen=True)
class File:
    path: str  # relative to the volume's directory
    content: bytes | Token
    mode: int


def _keyed(kind: str, name: str, data: dict[str, bytes] | None, items: list[Obj] | None,
           optional: bool, mode: int) -> list[File]:
    if data is None:
        if optional:
            return []
        raise ConfigError(f"{kind} {name!r} not found")
    if not items:
        return [File(k, v, mode) for k, v in sorted(data.items())]
    out = []
    for item in items:
        if item["key"] not in data:
            if optional:
                continue
            raise ConfigError(f"key {item['key']!r} in {kind} {name!r} not found")
        out.append(File(item["path"], data[item["key"]], int(item.get("mode", mode))))
    return out


def _downward(pod: Obj, items: list[Obj], mode: int) -> list[File]:
    out = []
    for item in items:
        if "fieldRef" in item:
            value = field_value(pod, item["fieldRef"]["fieldPath"])
        else:
            raise ConfigError(f"downwardAPI item {item.get('path')!r}: only fieldRef is supported locally")
        out.append(File(item["path"], value.encode(), int(item.get("mode", mode))))
    return out


def volume_files(pod: Obj, volume: Obj, sources: Sources) -> list[File] | None:
    """The files of one volume; None for a plain directory (emptyDir)."""
    def secret(src: Obj, mode: int, key: str = "secretName") -> list[File]:
        name = src.get(key, "")
        data = sources.secrets.get(name)
        return _keyed("Secret", name, dict(data) if data is not None else None, src.get("items"),
                      bool(src.get("optional")), mode)

    def config_map(src: Obj, mode: int) -> list[File]:
        name = src.get("name", "")
        data = sources.config_maps.get(name)
        return _keyed("ConfigMap", name, dict(data) if data is not None else None, src.get("items"),
                      bool(src.get("optional")), mode)

    if "emptyDir" in volume:
        return None
    if "secret" in volume:
        src = volume["secret"]
        return secret(src, int(src.get("defaultMode", 0o644)))
    if "configMap" in volume:
        src = volume["configMap"]
        return config_map(src, int(src.get("defaultMode", 0o644)))
    if "downwardAPI" in volume:
        src = volume["downwardAPI"]
        return _downward(pod, src.get("items") or [], int(src.get("defaultMode", 0o644)))
    if "projected" in volume:
        proj = volume["projected"]
        mode = int(proj.get("defaultMode", 0o644))
        files: list[File] = []
        for s in proj.get("sources") or ():
            if "secret" in s:
                files += secret(s["secret"], mode, key="name")
            elif "configMap" in s:
                files += config_map(s["configMap"], mode)
            elif "downwardAPI" in s:
                files += _downward(pod, s["downwardAPI"].get("items") or [], mode)
            elif "serviceAccountToken" in s:
                t = s["serviceAccountToken"]
                token = Token(t.get("audience"), int(t.get("expirationSeconds", 3600)))
                files.append(File(t["path"], token, 0o600))
            else:
                raise ConfigError(f"projected source {sorted(s)} is not supported by the local runtime")
        return files
    kinds = sorted(k for k in volume if k != "name")
    raise ConfigError(f"volume {volume.get('name')!r}: {', '.join(kinds)} "
                      "is not supported by the local runtime")


def write_volume(directory: Path, files: list[File] | None, tokens: dict[Token, str]) -> None:
    """Write one volume's files (a fresh directory each time: a restart writes them again)."""
    if directory.exists() and files is not None:
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for f in files or ():
        target = directory / f.path
        if ".." in Path(f.path).parts or Path(f.path).is_absolute():
            raise ConfigError(f"volume file path {f.path!r} must be relative and stay inside the volume")
        target.parent.mkdir(parents=True, exist_ok=True)
        data = tokens[f.content].encode() if isinstance(f.content, Token) else f.content
        target.write_bytes(data)
        os.chmod(target, f.mode & 0o777)


def link_mount(rootfs: Path, mount_path: str, source: Path, sub_path: str | None = None) -> None:
    """`<rootfs><mountPath>` → the volume's directory (or its subPath)."""
    target = Path(f"{rootfs}{mount_path.rstrip('/')}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    target.symlink_to(source / sub_path if sub_path else source)
