"""The broker's ACLs made equal to `access.desired_grants` of the objects in the API server.

One loop does it for the whole cluster: it asks the broker for its bindings once, takes the
Projects from the operator's one Projects informer (`projects.Projects`: an event is a
trigger, never proof; the watch is the proof), and creates and deletes the difference in
batches. It runs when poked (a Topic reconciled, a membership event, a share edited), when
the informer sees a Project's members change (`wake`: see `projects` for why a pass woken by
a bus event may see an older view and why that is safe), and at least every `interval`
seconds (drift: an ACL deleted or added by hand; the Projects from the informer's view, which
re-lists whenever its watch expires).
Pokes that arrive while a pass runs are served by the next pass, so a burst of a thousand
Topics costs a few passes, not a thousand.

The Topics: listing all of them for every pass made a pass cost O(Topics) of API-server
and JSON work, and a burst of N creations O(N^2). So the pass keeps a table of the Topics'
shares: a full listing on the periodic pass (and the first), and in between every Topic
the operator reconciles or deletes is noted (`note`, newest resourceVersion wins) before it
pokes. A Topic it has not reconciled yet has no ACLs to keep; one changed by hand behind
its back is the periodic pass's. The bindings are described *before* the Projects and
Topics are read, so a binding written for a Topic the pass has not read yet is never taken
for an extra one.

Two loops share the table. The diff loop runs the passes above. The add loop serves the
Topics in `added` (new to the table, or noted with the grant inputs the table has): their
grants only add, so it takes the Projects' members from the informer's view and
creates their bindings, nothing described, nothing deleted, and it does not wait for a full
pass in progress (under a burst a full pass takes about the resync period, and every new
Topic waited behind it). A diff pass starts only between two add passes (a FIFO lock, so a
burst of additions cannot starve it): bindings an add pass creates for a Topic deleted in
the meantime are then on the broker before the diff pass describes, and it removes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from confluent_kafka.admin import AclPermissionType  # type: ignore[attr-defined]

from lulea.core.events.topics import Grant
from lulea.core.kube import Kube
from lulea.operators.topic import access
from lulea.operators.topic.kafka import TopicAdmin
from lulea.operators.topic.projects import ProjectView

log = logging.getLogger("lulea.operators.topic.grants")
TOPICS = "/apis/lulea.io/v1alpha1/topics"


def members_of(projects: list[dict[str, Any]]) -> dict[str, list[str]]:
    """project -> its members, for the projects that exist and are not being deleted."""
    return {p["metadata"]["name"]: [m["user"] for m in (p.get("spec") or {}).get("members") or []]
            for p in projects if not p["metadata"].get("deletionTimestamp")}


def topics_of(topics: list[dict[str, Any]]) -> list[access.TopicAccess]:
    """The Topics whose grants stand: not those being deleted."""
    return [access.TopicAccess(t["metadata"]["namespace"], t["metadata"]["name"],
                               tuple((s["project"], s.get("access", "Read"))
                                     for s in (t.get("spec") or {}).get("shares") or []))
            for t in topics if not t["metadata"].get("deletionTimestamp")]


def _version(body: dict[str, Any]) -> int:
    try:  # etcd revisions: opaque to clients by contract, increasing integers in fact
        return int(body["metadata"].get("resourceVersion") or 0)
    except ValueError:
        return 0


def _access(body: dict[str, Any]) -> access.TopicAccess | None:
    found = topics_of([body])
    return found[0] if found else None


class GrantSync:
    def __init__(self, kube: Kube, admin: TopicAdmin, interval: float, projects: ProjectView) -> None:
        self.kube, self.admin, self.interval = kube, admin, interval
        self.projects = projects  # the operator's one Projects informer: no list per pass
        projects.subscribe(self.wake)  # a change of members seen by the watch: a diff pass
        self.requested = 0  # pokes for a diff pass
        self.completed = 0
        self.add_requested = 0  # pokes an add-only pass can serve
        self.add_completed = 0
        self.error: BaseException | None = None
        self._wake = asyncio.Event()
        self._add_wake = asyncio.Event()
        self._done = asyncio.Condition()
        self._turns = asyncio.Lock()  # an add pass holds it; a diff pass starts between two
        self.passes = 0
        self.full_passes = 0
        # "namespace/name" -> (resourceVersion, its grants' inputs; None: being deleted)
        self.topics: dict[str, tuple[int, access.TopicAccess | None]] = {}
        self.loaded = False
        self._noted_while_listing: dict[str, tuple[int, access.TopicAccess | None]] | None = None
        # bindings this operator wrote lately, (created?, binding) -> when: the broker's
        # DescribeAcls lags its CreateAcls/DeleteAcls by seconds under load (the authorizer
        # applies the metadata log later), and without this every pass in a burst wrote the
        # same thousands of bindings again. A pass takes its own recent writes over what the
        # describe says (`_believed`), and only the last write of a binding counts (`_wrote`):
        # a member removed, put back and removed again within `recent_seconds` kept his
        # bindings until the entry of the first removal aged out (18 s in e2e/test_topics.py)
        self.recent: dict[tuple[bool, Grant], float] = {}
        self.recent_seconds = 15.0
        self.listing: list[dict[str, Any]] = []
        # Topics noted since the table was loaded, new to it or with the grant inputs it has,
        # not yet served by a pass: an add-only pass serves them (see `note` and `poke`)
        self.added: set[str] = set()
        self.listed = asyncio.Event()

    def note(self, body: dict[str, Any]) -> None:
        """The newest copy of a Topic the operator is acting on (before it pokes)."""
        meta = body["metadata"]
        key, entry = f"{meta['namespace']}/{meta['name']}", (_version(body), _access(body))
        known = self.topics.get(key)
        if known is None or entry[0] >= known[0]:
            # new to the table, or its grants' inputs (project, name, shares) as the table
            # has them: what the poke needs is additions only (the members' changes are the
            # membership events' diff passes). Shares changed or being deleted: a diff pass.
            if self.loaded and entry[1] is not None and (known is None or known[1] == entry[1]):
                self.added.add(key)
            else:
                self.added.discard(key)
            self.topics[key] = entry
        if self._noted_while_listing is not None:
            self._noted_while_listing[key] = entry

    async def _load_topics(self) -> None:
        self._noted_while_listing = {}
        try:
            topics, _ = await self.kube.list(TOPICS)
            self.listing = topics  # the resync pass compares this same listing with Kafka
            self.listed.set()
            fresh = {f"{t['metadata']['namespace']}/{t['metadata']['name']}": (_version(t), _access(t))
                     for t in topics}
            for key, entry in self._noted_while_listing.items():  # newer than the listing?
                if entry[0] > fresh.get(key, (-1, None))[0]:
                    fresh[key] = entry
            self.topics, self.loaded = fresh, True
        finally:
            self._noted_while_listing = None

    async def poke(self, wait: float = 120.0, topic: str | None = None) -> None:
        """Ask for a pass and wait until one that started after this call has finished.

        `topic` ("namespace/name"): the poke is for that Topic only. A Topic in `added` (see
        `note`: new to the table or unchanged in it, not yet served) adds bindings and removes
        none, so an add-only pass serves it, or any diff pass that starts after this call: the Projects
        read afresh and the Topic's bindings created, without describing every binding on
        the broker and diffing all of them (which, with a thousand Topics arriving at once,
        made each reconcile wait ~20 s for passes). Any other poke asks for a diff pass,
        which stays the authority."""
        if topic is not None and topic in self.added:
            self.add_requested += 1
            mine = self.add_requested
            self._add_wake.set()

            def served() -> bool:
                return self.add_completed >= mine
        else:
            self.requested += 1
            mine = self.requested
            self._wake.set()

            def served() -> bool:
                return self.completed >= mine
        async with self._done:
            try:
                await asyncio.wait_for(self._done.wait_for(served), wait)
            except TimeoutError:
                raise RuntimeError(f"no ACL pass finished in {wait:.0f}s: {self.error}") from None

    def wake(self, _project: str = "") -> None:
        """A Project's members changed (the informer's watch): a diff pass, nobody waiting on it.
        Called synchronously from the informer, so the view already holds the change when the
        pass it wakes starts."""
        self.requested += 1
        self._wake.set()

    def _wrote(self, grants: set[Grant], created: bool, now: float) -> None:
        for g in grants:
            self.recent.pop((not created, g), None)
            self.recent[(created, g)] = now

    def _believed(self, allow: set[Grant]) -> set[Grant]:
        """The broker's bindings as described, with this operator's recent writes over them."""
        created = {g for (c, g) in self.recent if c}
        deleted = {g for (c, g) in self.recent if not c}
        return (allow - deleted) | created

    async def run(self) -> None:
        await self.projects.synced.wait()  # the first pass needs the first list of Projects
        await asyncio.gather(self._diff_loop(), self._add_loop())

    async def _finished(self, upto: int, add_upto: int) -> None:
        async with self._done:
            self.completed = max(self.completed, upto)
            self.add_completed = max(self.add_completed, add_upto)
            self._done.notify_all()

    async def _diff_loop(self) -> None:
        next_full = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_full - time.monotonic()))
            self._wake.clear()
            async with self._turns:  # not while an add pass writes (see the module's docstring)
                pass
            upto, add_upto = self.requested, self.add_requested
            full = time.monotonic() >= next_full or not self.loaded
            try:
                created, deleted = await self.sync_once(full=full)
                if full:
                    next_full = time.monotonic() + self.interval
                self.error = None
            except asyncio.CancelledError:
                raise
            except Exception as err:  # Kafka or the API server away: the next pass retries
                self.error = err
                log.warning("ACL pass failed: %s", err)
                await asyncio.sleep(1.0)
                self._wake.set()
                continue
            if created or deleted:
                log.info("ACLs: %d created, %d deleted", created, deleted)
            # a diff pass grants every Topic of the table, so it serves the add pokes too
            await self._finished(upto, add_upto)

    async def _add_loop(self) -> None:
        while True:
            await self._add_wake.wait()
            self._add_wake.clear()
            add_upto = self.add_requested
            try:
                async with self._turns:
                    created = await self.add_once()
                self.error = None
            except asyncio.CancelledError:
                raise
            except Exception as err:  # the Topics stay in `added`: this retry or a diff pass serves them
                self.error = err
                log.warning("add-only ACL pass failed: %s", err)
                await asyncio.sleep(1.0)
                self._add_wake.set()
                continue
            if created:
                log.debug("ACLs of new Topics: %d created", created)
            await self._finished(0, add_upto)

    async def add_once(self) -> int:
        """The bindings of the Topics new to the table, from the Projects as they are now;
        nothing is deleted (a new Topic's grants only add). Creating a binding that exists
        already is a no-op for Kafka."""
        keys, self.added = self.added, set()
        topics = [t for k in keys if (t := self.topics.get(k, (0, None))[1]) is not None]
        if not topics:
            return 0
        try:
            await self.projects.synced.wait()
            members = {p: tuple(users) for p, users in members_of(self.projects.items()).items()}
            wanted: set[Grant] = set()
            for t in topics:
                wanted |= access.topic_grants(t, members)
            now = time.monotonic()
            missing = {g for g in wanted if (True, g) not in self.recent}
            if missing:
                await self.admin.create_acls(missing)
                self._wrote(missing, True, now)
        except BaseException:
            self.added |= keys  # not served: the retry serves them
            raise
        self.passes += 1
        return len(missing)

    async def sync_once(self, full: bool = True) -> tuple[int, int]:
        started = time.monotonic()
        served = set(self.added)  # a full pass grants every Topic in the table
        allow, deny = await self.admin.acls()  # first: see the module's docstring
        if full or not self.loaded:
            await self._load_topics()
            self.full_passes += 1
        # never before the informer's first list: an empty view would delete every binding
        await self.projects.synced.wait()
        desired = access.desired_grants(members_of(self.projects.items()),
                                        [t for _, t in self.topics.values() if t is not None])
        now = time.monotonic()
        self.recent = {k: t for k, t in self.recent.items() if t > now - self.recent_seconds}
        # a binding created lately and not wanted any more is deleted even if the describe does
        # not show it yet (the broker applies the deletion after the creation); one deleted
        # lately and wanted again is created even if the describe still shows it
        missing, extra = access.difference(desired, self._believed(allow))
        seen = {(c, g) for (c, g) in self.recent if (g in allow) == c}  # the describe caught up
        denied = {g for g in deny if access.ours(g)}  # nobody writes a DENY on our patterns by hand
        if missing:
            await self.admin.create_acls(missing)
            self._wrote(missing, True, now)
        if extra:
            await self.admin.delete_acls(extra)
            self._wrote(extra, False, now)
        for key in seen:  # seen on the broker as written: no longer "lately written"
            self.recent.pop(key, None)
        if denied:
            await self.admin.delete_acls(denied, AclPermissionType.DENY)
        self.added -= served
        self.passes += 1
        log.debug("ACL pass %d in %.3fs", self.passes, time.monotonic() - started)
        return len(missing), len(extra) + len(denied)
