"""Window leases: which process crawls a window right now, across processes and machines.

- **Owner.** `host:pid:start-token`: the host name, the process id, the process's start time (clock
  ticks since boot, from /proc; `x` where unknown) and a random token per process. Two processes never
  share an owner, also when the system gives a dead process's id to a new one.
- **Lifetime.** A lease lasts `LEASE_LIFETIME` (90 s) and a heartbeat thread renews every lease of its
  process every `HEARTBEAT_EVERY_S` (30 s) while the runner works, whatever it waits for (a slow page,
  retry back-offs, a quota wait until midnight): renewal does not depend on pages being committed.
- **Release.** A runner releases its leases when it stops for any reason (complete, 75, a signal, an
  exception). A process killed outright cannot: on its own machine its leases are free at once (its
  pid is gone, or now belongs to a process started later); on another machine they expire at most
  `LEASE_LIFETIME` after its last heartbeat.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from crawlspec.logs import get_logger
from crawlspec.storage import checkpoints

LEASE_LIFETIME = timedelta(seconds=90)
"""How long a window stays reserved without a heartbeat: a holder killed on another machine frees its
windows this long after its last renewal. Hosts sharing a database need clocks within a few seconds
of each other (NTP)."""
HEARTBEAT_EVERY_S = 30.0
"""How often a working process renews its leases: three chances per lifetime, so a slow database
commit or a busy machine never lets a live holder's lease lapse."""
UNKNOWN_START = "x"


def this_host() -> str:
    return socket.gethostname()


def process_start(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot), None where /proc cannot tell."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19].decode() if len(fields) > 19 else None   # field 22 of stat, after pid and name


def new_lease_owner(*, host: str | None = None, pid: int | None = None) -> str:
    """The owner name of this process's leases, unique across machines, processes and pid reuse."""
    pid = os.getpid() if pid is None else pid
    start = process_start(pid) or UNKNOWN_START
    return f"{host or this_host()}:{pid}:{start}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class LeaseOwner:
    host: str
    pid: int
    start: str | None   # None: an owner written without its start time

    @classmethod
    def parse(cls, owner: str | None) -> LeaseOwner | None:
        if not owner or owner.count(":") < 2:
            return None
        host, pid, token = owner.rsplit(":", 2)
        if not pid.isdigit():
            return None
        start = token.split("-", 1)[0] if "-" in token else None
        return cls(host, int(pid), None if start == UNKNOWN_START else start)

    def process_state(self) -> str:
        """"alive" / "dead" for a process of this machine; "elsewhere" for another machine's."""
        if self.host != this_host():
            return "elsewhere"
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return "dead"
        except PermissionError:
            pass
        if self.start is not None and process_start(self.pid) not in (None, self.start):
            return "dead"   # the pid now belongs to a process started after the holder
        return "alive"


def holder_is_dead(owner: str | None) -> bool:
    """The lease's process ran on this machine and is gone (killed, crashed, its pid reused)."""
    parsed = LeaseOwner.parse(owner)
    return parsed is not None and parsed.process_state() == "dead"


def holder_gone(owner: str, until: datetime | None, *, now: datetime) -> bool:
    """The lease's process no longer works: dead on this machine, or (on another machine, or an owner
    this machine cannot check) its lease expired without a heartbeat. A live process of this machine is
    never gone, whatever its lease says."""
    parsed = LeaseOwner.parse(owner)
    state = parsed.process_state() if parsed is not None else "elsewhere"
    if state != "elsewhere":
        return state == "dead"
    return until is not None and until < now


class LeaseHeartbeat:
    """Renews every lease of `owner` from a daemon thread while the block runs; releases them at exit."""

    def __init__(self, engine: Engine, owner: str, *, clock: Callable[[], datetime],
                 lifetime: timedelta = LEASE_LIFETIME, every_s: float = HEARTBEAT_EVERY_S,
                 on_renew: Callable[[int], None] | None = None):
        self.engine = engine
        self.owner = owner
        self.clock = clock
        self.lifetime = lifetime
        self.every_s = every_s
        self.on_renew = on_renew
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.log = get_logger("crawlspec.crawl.leases")

    def renew(self) -> int:
        """Push every lease of the owner to now + lifetime; the number renewed."""
        with self.engine.begin() as conn:
            return checkpoints.renew_leases(conn, self.owner, until=self.clock() + self.lifetime)

    def release(self) -> int:
        with self.engine.begin() as conn:
            return checkpoints.release_leases(conn, self.owner)

    def _beat(self) -> None:
        while not self._stopped.wait(self.every_s):
            try:
                renewed = self.renew()
            except Exception as error:   # the database is away: the page loop reports it
                self.log.warning("lease_renewal_failed", error=f"{type(error).__name__}: {error}")
                continue
            if self.on_renew is not None:
                self.on_renew(renewed)

    def __enter__(self) -> LeaseHeartbeat:
        self._thread = threading.Thread(target=self._beat, name="crawlspec-lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        try:
            self.release()
        except Exception as error:   # they expire after the lifetime instead
            self.log.warning("lease_release_failed", error=f"{type(error).__name__}: {error}",
                             note=f"this process's windows are free again in {self.lifetime.seconds} s")
