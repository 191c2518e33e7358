"""Quota accounting: usage counters on the dataset root and the project directory, moved only
by `$inc` under a condition that the limit still holds after the move, so concurrent writers
can never together pass a limit and the figures stay exact (no read-modify-write).

A reservation is taken before the bytes are acknowledged; a failed or interrupted write gives
it back. Without multi-document transactions, a crash between moving a counter and writing
the record that accounts for the move (a block, an entry, a deleted entry) would leave the
counter wrong with nothing to tell. So every such move names itself on the counter document,
in the same update (`Hold`): the reclaimer looks at a dead writer's names and, from whether
the record exists, gives the reservation back or only removes the name (store.recover_holds).
A name costs no call of its own on the hot path: it is set by the move itself and removed
with the next move of the same counter."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from lulea.storage.namespace.errors import Hadoop, StorageError


@dataclass(frozen=True)
class Account:
    """Where a write is counted: its dataset root (with its limits) and its project directory."""

    dataset: str | None  # the key (`_id`) of the dataset root
    dataset_path: str = ""
    bytes_quota: int | None = None
    files_quota: int | None = None
    pdir: str | None = None  # the key of the project directory
    project_path: str = ""
    project_bytes_quota: int | None = None


NOWHERE = Account(None)
# FerretDB 1.x applies an update as read, modify, write (the filter and the operators run in
# FerretDB, then the whole document is written back by `_id`), so two concurrent $inc on one
# counter can lose one. Within a process, one counter move at a time keeps the figures exact;
# MongoDB (or FerretDB 2) makes $inc atomic across replicas by itself.
# The same holds for every other update of a document that carries counters (a dataset root,
# a project directory): SETQUOTA, SETPERMISSION... write the whole document back, counters
# included, so they take the counter's lock too (`counter_lock`), or a reservation made
# meanwhile is lost (the dataset operator re-sets each quota every few seconds).
_COUNTER_LOCKS: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


def counter_lock(key: str) -> asyncio.Lock:
    """The lock of the counters on the document `key`: hold it for any update of that document."""
    return _COUNTER_LOCKS[key]


def _condition(field: str, limit: int | None, amount: int) -> dict[str, Any]:
    if limit is None or amount <= 0:
        return {}
    return {field: {"$lte": limit - amount}}


@dataclass(frozen=True)
class Hold:
    """A reservation named on the counter documents it moves, in the same update (`held.<name>`:
    writer, entry key, ino, bytes, files), so that after a crash anyone can tell a reservation
    whose operation never recorded it (given back) from one whose record exists (only the name
    goes). Names: `s<ino>` a small file or directory created, `u<ino>` an upload, `a<ino>` an
    append, `r<ino>` a removal's give-back, `t<ino>` an entry of a subtree being reclaimed."""

    name: str
    key: str
    ino: int


def _fields(doc: str, nbytes: int, nfiles: int) -> tuple[int, int]:
    """What a move does on one counter document: bytes on both, files on the dataset only."""
    return nbytes, nfiles if doc == "dataset" else 0


class Holds:
    """One writer's holds: those open (their operation still running) and those whose
    operation is recorded, whose names go with the next move of that counter (or `flush`)."""

    def __init__(self, writer: str) -> None:
        self.writer = writer
        self.open: set[tuple[str, str]] = set()
        self.done: defaultdict[str, set[str]] = defaultdict(set)
        self.doubtful = False  # a hold was let go without knowing if its record exists
        self._asks: dict[tuple[str, str], deque[_Ask]] = {}  # reservations waiting, per counter pair
        self._runners: dict[tuple[str, str], asyncio.Task[None]] = {}

    def abandon(self, dataset: str | None, pdir: str | None, name: str) -> None:
        """The operation holding `name` failed without knowing whether its record was written
        (a connection lost in the middle of the write): the reclaimer decides from the record."""
        for doc in (dataset, pdir):
            if doc is not None and (doc, name) in self.open:
                self.open.discard((doc, name))
                self.doubtful = True

    def _marker(self, hold: Hold, nbytes: int, nfiles: int) -> dict[str, Any]:
        return {"w": self.writer, "k": hold.key, "i": hold.ino, "b": nbytes, "f": nfiles}

    def abandon_all(self, dataset: str | None, pdir: str | None, names: Iterable[str]) -> None:
        for name in names:
            self.abandon(dataset, pdir, name)

    def _take_done(self, doc: str) -> set[str]:
        return self.done.pop(doc, set())

    async def _move(self, inodes: AsyncCollection[dict[str, Any]], doc: str, query: dict[str, Any],
                    inc: dict[str, int], holds: Sequence[tuple[Hold, int, int]] = (),
                    unset: tuple[str, ...] = ()) -> bool:
        """One update of counter document `doc` (its lock held by the caller): the `$inc`, each
        hold's bytes and files (a fresh marker the first time), the names of recorded
        operations still waiting, and `unset`. The holds' names are distinct."""
        update: dict[str, Any] = {}
        moves = {k: v for k, v in inc.items() if v}
        taken = self.done.pop(doc, set())
        names = taken | set(unset)
        markers: dict[str, Any] = {}
        fresh: list[str] = []
        for hold, nbytes, nfiles in holds:
            names.discard(hold.name)
            if (doc, hold.name) in self.open:
                moves.update({f"held.{hold.name}.b": nbytes, f"held.{hold.name}.f": nfiles})
            else:  # a fresh marker (one left by an earlier operation of the same name is replaced)
                markers[f"held.{hold.name}"] = self._marker(hold, nbytes, nfiles)
                fresh.append(hold.name)
                self.open.add((doc, hold.name))  # open before it can be seen: recover_holds skips it
        if markers:
            update["$set"] = markers
        if moves:
            update["$inc"] = moves
        if names:
            update["$unset"] = {f"held.{n}": "" for n in names}
        if not update:
            return True
        try:
            done = await inodes.update_one({"_id": doc, **query}, update)
        except BaseException:  # applied or not: a marker no operation holds is recover_holds'
            self.done[doc] |= taken
            for name in fresh:
                self.open.discard((doc, name))
                self.doubtful = True
            raise
        if done.matched_count != 1:
            self.done[doc] |= taken  # not applied: they go with a later move
            for name in fresh:
                self.open.discard((doc, name))
            return False
        return True

    async def reserve(self, inodes: AsyncCollection[dict[str, Any]], account: Account, nbytes: int,
                      nfiles: int, hold: Hold | None = None) -> None:
        """Take `nbytes` and `nfiles` from the dataset's and the project's limits, or raise.

        Reservations on the same counters are committed in groups: while one move is in the
        database, those asked for meanwhile wait, and the next move takes them all in one
        update (their sum under the limit, each named by its own marker). FerretDB applies an
        update as read-modify-write, so the moves of a counter go one at a time; without
        grouping, every write of a dataset would wait for every other's round trip. A group the
        limit refuses is retried one by one, in order, so exactly those that fit pass."""
        if nbytes == 0 and nfiles == 0:
            return
        lane = (account.dataset or "", account.pdir or "-")
        ask = _Ask(inodes, account, nbytes, nfiles, hold, asyncio.get_running_loop().create_future())
        self._asks.setdefault(lane, deque()).append(ask)
        if lane not in self._runners:
            self._runners[lane] = asyncio.create_task(self._run(lane))
        try:
            await asyncio.shield(ask.future)
        except asyncio.CancelledError:
            if not ask.future.done():
                ask.gone = True  # dropped if not taken yet
                if ask.taken:  # its move is in the database: the holds' state follows its outcome
                    await asyncio.wait([ask.future])
            raise

    async def _run(self, lane: tuple[str, str]) -> None:
        """Commit the reservations waiting on `lane`, a group at a time, until none waits."""
        queue = self._asks[lane]
        try:
            while queue:
                async with _COUNTER_LOCKS[lane[0]], _COUNTER_LOCKS[lane[1]]:
                    group = _take(queue)
                    if group:
                        await self._commit(group)
        finally:
            self._runners.pop(lane, None)
            while queue:  # only when cancelled (the loop is shutting down)
                left = queue.popleft()
                if not left.future.done():
                    left.future.cancel()
            self._asks.pop(lane, None)

    async def _commit(self, group: list[_Ask]) -> None:
        """Settle every ask of `group`: its future gets None or the error."""
        first = group[0]
        items = [(a.hold, a.nbytes, a.nfiles) for a in group]
        account = first.account if len(group) == 1 else _strictest([a.account for a in group])
        try:
            refused = await self._try(first.inodes, account, items)
        except BaseException as e:
            for a in group:
                _settle(a, e)
            if not isinstance(e, Exception):
                raise
            return
        if refused is None:
            for a in group:
                _settle(a, None)
            return
        if len(group) == 1:
            _settle(first, await self._refusal(first, refused))
            return
        for a in group:  # the limit is close: one at a time, so exactly those that fit pass
            try:
                one = await self._try(a.inodes, a.account, [(a.hold, a.nbytes, a.nfiles)])
                _settle(a, None if one is None else await self._refusal(a, one))
            except BaseException as e:
                _settle(a, e)
                if not isinstance(e, Exception):
                    raise

    async def _refusal(self, ask: _Ask, which: str) -> StorageError:
        account = ask.account
        if which == "dataset":
            return await _exceeded(ask.inodes, account, ask.nbytes, ask.nfiles)
        return StorageError(Hadoop.DS_QUOTA,
                            f"The DiskSpace quota of {account.project_path} is exceeded:"
                            f" quota = {account.project_bytes_quota} B but {ask.nbytes} B more"
                            " were asked for")

    async def _try(self, inodes: AsyncCollection[dict[str, Any]], account: Account,
                   items: list[tuple[Hold | None, int, int]]) -> str | None:
        """Both counters at once (separate documents) for all of `items`; if one refuses, the
        other is given back and its name ("dataset" or "project") returned."""
        nbytes = sum(b for _, b, _ in items)
        nfiles = sum(f for _, _, f in items)
        on_dataset_holds = [(h, b, f) for h, b, f in items if h is not None]
        on_project_holds = [(h, b, 0) for h, b, _ in on_dataset_holds if b]
        fresh = {(doc, h.name): (doc, h.name) not in self.open
                 for doc, holds in ((account.dataset, on_dataset_holds), (account.pdir, on_project_holds))
                 if doc is not None for h, _, _ in holds}

        async def on_dataset() -> bool:
            if account.dataset is None:
                return True
            query = {**_condition("usage.bytes", account.bytes_quota, nbytes),
                     **_condition("usage.files", account.files_quota, nfiles)}
            return await self._move(inodes, account.dataset, query,
                                    {"usage.bytes": nbytes, "usage.files": nfiles}, on_dataset_holds)

        async def on_project() -> bool:
            if account.pdir is None or not nbytes:
                return True
            query = _condition("usage.bytes", account.project_bytes_quota, nbytes)
            return await self._move(inodes, account.pdir, query, {"usage.bytes": nbytes}, on_project_holds)

        dataset_ok, project_ok = await asyncio.gather(on_dataset(), on_project())
        if dataset_ok and project_ok:
            return None
        undo: list[tuple[str, int, int, list[tuple[Hold, int, int]]]] = []
        if dataset_ok and account.dataset is not None:
            undo.append((account.dataset, nbytes, nfiles, on_dataset_holds))
        if project_ok and account.pdir is not None and nbytes:
            undo.append((account.pdir, nbytes, 0, on_project_holds))
        for doc, b, f, holds in undo:
            moves = {"usage.bytes": -b, "usage.files": -f}
            update: dict[str, Any] = {"$inc": {k: v for k, v in moves.items() if v}}
            for hold, hb, hf in holds:
                if fresh[(doc, hold.name)]:
                    update.setdefault("$unset", {})[f"held.{hold.name}"] = ""
                    self.open.discard((doc, hold.name))
                else:
                    update["$inc"].update({f"held.{hold.name}.b": -hb, f"held.{hold.name}.f": -hf})
            await inodes.update_one({"_id": doc}, update)
        return "dataset" if not dataset_ok else "project"

    async def release(self, inodes: AsyncCollection[dict[str, Any]], dataset: str | None, pdir: str | None,
                      nbytes: int, nfiles: int, unset: tuple[str, ...] = (),
                      project_marked: bool | None = None) -> None:
        """Give back what a record held, and remove the names `unset` in the same update (the
        record's own holds, which are stale once it is gone). A project directory carries
        names only for bytes: it is moved when `nbytes` or `project_marked` (default: bytes)."""
        for name in unset:
            self.open.discard((dataset or "", name))
            self.open.discard((pdir or "", name))
        marked = bool(nbytes) if project_marked is None else project_marked

        async def on(doc: str | None, b: int, f: int, names: tuple[str, ...]) -> None:
            if doc is not None and (b or f or names or self.done.get(doc)):
                async with _COUNTER_LOCKS[doc]:
                    await self._move(inodes, doc, {}, {"usage.bytes": -b, "usage.files": -f}, unset=names)
        await asyncio.gather(on(dataset, nbytes, nfiles, unset),
                             on(pdir, nbytes, 0, unset if marked else ()))

    async def mark(self, inodes: AsyncCollection[dict[str, Any]], dataset: str | None, pdir: str | None,
                   holds: list[tuple[Hold, int, int]]) -> None:
        """Name give-backs about to happen (`r`/`t` holds) without moving the counters: if the
        writer dies after its record is gone and before the give-back, the name says so."""
        async def on(doc: str | None, which: str) -> None:
            markers = {}
            for hold, nbytes, nfiles in holds:
                b, f = _fields(which, nbytes, nfiles)
                if b or f:
                    markers[f"held.{hold.name}"] = self._marker(hold, b, f)
            if doc is None or not markers:
                return
            fresh = {k[5:] for k in markers}
            self.open.update((doc, n) for n in fresh)  # ours while the removal runs
            async with _COUNTER_LOCKS[doc]:
                update: dict[str, Any] = {"$set": markers}
                taken = self.done.pop(doc, set())
                if taken - fresh:
                    update["$unset"] = {f"held.{n}": "" for n in taken - fresh}
                try:
                    await inodes.update_one({"_id": doc}, update)
                except BaseException:
                    self.done[doc] |= taken - fresh
                    self.abandon_all(doc, None, fresh)
                    raise
        await asyncio.gather(on(dataset, "dataset"), on(pdir, "project"))

    async def release_hold(self, inodes: AsyncCollection[dict[str, Any]], doc: str | None, name: str,
                           writer: str | None = None) -> bool:
        """Give back all that the hold `name` on `doc` holds, and remove it, once: the update is
        conditioned on the marker as read (of `writer`, if given). False if there was none."""
        if doc is None:
            return False
        self.open.discard((doc, name))
        async with _COUNTER_LOCKS[doc]:
            found = await inodes.find_one({"_id": doc}, {f"held.{name}": 1})
            marker = ((found or {}).get("held") or {}).get(name)
            if marker is None or (writer is not None and marker.get("w") != writer):
                return False
            b, f = int(marker.get("b") or 0), int(marker.get("f") or 0)
            inc = {k: -v for k, v in {"usage.bytes": b, "usage.files": f}.items() if v}
            update: dict[str, Any] = {"$unset": {f"held.{name}": ""}}
            if inc:
                update["$inc"] = inc
            query = {f"held.{name}.{k}": marker.get(k) for k in ("w", "b", "f")}
            done = await inodes.update_one({"_id": doc, **query}, update)
            return done.modified_count == 1

    async def release_holds(self, inodes: AsyncCollection[dict[str, Any]], dataset: str | None,
                            pdir: str | None, name: str) -> None:
        """`release_hold` on both counter documents of an operation."""
        await asyncio.gather(self.release_hold(inodes, dataset, name), self.release_hold(inodes, pdir, name))

    def settle(self, dataset: str | None, pdir: str | None, name: str) -> None:
        """The operation holding `name` is recorded: the name goes with the next move of each
        counter (no call of its own on the hot path), or at the next `flush`."""
        for doc in (dataset, pdir):
            if doc is not None and (doc, name) in self.open:
                self.open.discard((doc, name))
                self.done[doc].add(name)

    async def forget(self, inodes: AsyncCollection[dict[str, Any]], doc: str | None,
                     names: list[str]) -> None:
        """Remove stale names now, without moving the counters."""
        if doc is None or not names:
            return
        for name in names:
            self.open.discard((doc, name))
        async with _COUNTER_LOCKS[doc]:
            await inodes.update_one({"_id": doc}, {"$unset": {f"held.{n}": "" for n in names}})

    async def flush(self, inodes: AsyncCollection[dict[str, Any]]) -> None:
        """Remove the names of recorded operations that no move has taken yet."""
        for doc in list(self.done):
            async with _COUNTER_LOCKS[doc]:
                names = self._take_done(doc)
                if not names:
                    continue
                try:
                    await inodes.update_one({"_id": doc}, {"$unset": {f"held.{n}": "" for n in names}})
                except BaseException:
                    self.done[doc] |= names
                    raise


GROUP_LIMIT = 64  # reservations one counter move takes at most


@dataclass(eq=False)
class _Ask:
    """One reservation waiting for its counters' next move."""

    inodes: AsyncCollection[dict[str, Any]]
    account: Account
    nbytes: int
    nfiles: int
    hold: Hold | None
    future: asyncio.Future[None]
    taken: bool = False  # in a move now
    gone: bool = False  # its caller stopped waiting before it was taken


def _take(queue: deque[_Ask]) -> list[_Ask]:
    """The next group: the waiting asks in order, up to GROUP_LIMIT, stopping before a second
    ask of the same hold (one update cannot move one marker twice)."""
    group: list[_Ask] = []
    names: set[str] = set()
    while queue and len(group) < GROUP_LIMIT:
        ask = queue[0]
        if ask.gone:
            queue.popleft()
            ask.future.cancel()
            continue
        if ask.hold is not None:
            if ask.hold.name in names:
                break
            names.add(ask.hold.name)
        queue.popleft()
        ask.taken = True
        group.append(ask)
    return group


def _settle(ask: _Ask, outcome: BaseException | None) -> None:
    if ask.future.done():
        return
    if outcome is None:
        ask.future.set_result(None)
    else:
        ask.future.set_exception(outcome)
        if ask.gone:
            ask.future.exception()  # nobody waits for it any more: retrieved, not logged


def _strictest(accounts: list[Account]) -> Account:
    """One account for a group on the same counters: the lowest of each limit they were read
    with (a limit may have been re-read between them)."""
    def least(values: Iterable[int | None]) -> int | None:
        known = [v for v in values if v is not None]
        return min(known) if known else None
    first = accounts[0]
    return Account(first.dataset, first.dataset_path, least(a.bytes_quota for a in accounts),
                   least(a.files_quota for a in accounts), first.pdir, first.project_path,
                   least(a.project_bytes_quota for a in accounts))


async def _exceeded(inodes: AsyncCollection[dict[str, Any]], account: Account, nbytes: int,
                    nfiles: int) -> StorageError:
    root = await inodes.find_one({"_id": account.dataset}, {"usage": 1})
    if root is None:
        return StorageError(Hadoop.FILE_NOT_FOUND, f"File does not exist: {account.dataset_path}")
    usage = root.get("usage") or {}
    files = int(usage.get("files") or 0)
    if nfiles and account.files_quota is not None and files + nfiles > account.files_quota:
        return StorageError(Hadoop.NS_QUOTA,
                            f"The NameSpace quota (directories and files) of directory {account.dataset_path}"
                            f" is exceeded: quota={account.files_quota} file count={files + nfiles}")
    used = int(usage.get("bytes") or 0)
    return StorageError(Hadoop.DS_QUOTA,
                        f"The DiskSpace quota of {account.dataset_path} is exceeded: quota = "
                        f"{account.bytes_quota} B but diskspace consumed = {used + nbytes} B")
