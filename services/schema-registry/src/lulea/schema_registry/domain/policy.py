"""Compatibility level and mode, global or per subject."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lulea.core.compatibility import Compatibility
from lulea.schema_registry.domain.errors import ErrorCode, RegistryError
from lulea.schema_registry.store.base import Store

CONFIG = "config"
MODE = "mode"


class Mode(StrEnum):
    READWRITE = "READWRITE"
    READONLY = "READONLY"
    READONLY_OVERRIDE = "READONLY_OVERRIDE"
    IMPORT = "IMPORT"


def parse_level(value: object) -> Compatibility:
    if isinstance(value, str):
        try:
            return Compatibility(value.upper())
        except ValueError:
            pass
    raise RegistryError(
        ErrorCode.INVALID_COMPATIBILITY_LEVEL,
        "Invalid compatibility level. Valid values are none, backward, forward, full,"
        " backward_transitive, forward_transitive, and full_transitive")


def parse_mode(value: object) -> Mode:
    if isinstance(value, str):
        try:
            return Mode(value.upper())
        except ValueError:
            pass
    raise RegistryError(
        ErrorCode.INVALID_MODE,
        "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT")


@dataclass(frozen=True, slots=True)
class SubjectPolicy:
    """What applies to one subject, read in one round trip."""

    level: Compatibility
    mode: Mode
    normalize: bool


class Policy:
    def __init__(self, store: Store, default_level: Compatibility) -> None:
        self.store = store
        self.default_level = default_level

    async def for_subject(self, subject: str) -> SubjectPolicy:
        found = await self.store.get_settings(subject)
        config = found.get((CONFIG, subject)) or found.get((CONFIG, "")) or {}
        mode = found.get((MODE, subject)) or found.get((MODE, "")) or {}
        normalize = next((bool(doc["normalize"]) for doc in
                          (found.get((CONFIG, subject)), found.get((CONFIG, "")))
                          if doc and doc.get("normalize") is not None), False)
        level = parse_level(config["compatibility"]) if config else self.default_level
        return SubjectPolicy(level, parse_mode(mode["mode"]) if mode else Mode.READWRITE, normalize)

    async def subject_level(self, subject: str) -> Compatibility | None:
        doc = await self.store.get_setting(CONFIG, subject)
        return None if doc is None else parse_level(doc.get("compatibility"))

    async def global_level(self) -> Compatibility:
        doc = await self.store.get_setting(CONFIG, None)
        return self.default_level if doc is None else parse_level(doc.get("compatibility"))

    async def effective_level(self, subject: str) -> Compatibility:
        return await self.subject_level(subject) or await self.global_level()

    async def normalize(self, subject: str) -> bool:
        for scope in (subject, None):
            doc = await self.store.get_setting(CONFIG, scope)
            if doc is not None and doc.get("normalize") is not None:
                return bool(doc["normalize"])
        return False

    async def set_level(self, subject: str | None, level: Compatibility,
                        normalize: bool | None) -> None:
        value: dict[str, object] = {"compatibility": level.value}
        if normalize is not None:
            value["normalize"] = normalize
        await self.store.put_setting(CONFIG, subject, value)

    async def delete_level(self, subject: str | None) -> Compatibility:
        previous = (await self.subject_level(subject)) if subject else await self.global_level()
        await self.store.delete_setting(CONFIG, subject)
        return previous or await self.global_level()

    async def subject_mode(self, subject: str) -> Mode | None:
        doc = await self.store.get_setting(MODE, subject)
        return None if doc is None else parse_mode(doc.get("mode"))

    async def global_mode(self) -> Mode:
        doc = await self.store.get_setting(MODE, None)
        return Mode.READWRITE if doc is None else parse_mode(doc.get("mode"))

    async def effective_mode(self, subject: str) -> Mode:
        return await self.subject_mode(subject) or await self.global_mode()

    async def set_mode(self, subject: str | None, mode: Mode, *, force: bool,
                       subject_is_empty: bool) -> None:
        if mode is Mode.IMPORT and not force:
            empty = subject_is_empty if subject else await self.store.is_empty()
            if not empty:
                raise RegistryError(
                    ErrorCode.OPERATION_NOT_PERMITTED,
                    "Cannot import since found existing subjects; use force=true to override")
        await self.store.put_setting(MODE, subject, {"mode": mode.value})

    async def delete_mode(self, subject: str | None) -> Mode:
        previous = (await self.subject_mode(subject)) if subject else await self.global_mode()
        await self.store.delete_setting(MODE, subject)
        return previous or await self.global_mode()

    async def require_writable(self, subject: str) -> Mode:
        mode = await self.effective_mode(subject)
        if mode in (Mode.READONLY, Mode.READONLY_OVERRIDE):
            raise RegistryError(ErrorCode.OPERATION_NOT_PERMITTED,
                                f"Subject {subject} is in read-only mode")
        return mode
