"""One build per domain at a time, across processes: an advisory lock file per domain.

`flock` locks belong to the open file, so the operating system releases them when the
holder exits for any reason, `kill -9` included: a crashed build never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mesh.errors import DomainLockedError


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return "another process"
    return f"process {pid}" if pid else "another process"


@contextmanager
def domain_lock(
    locks_dir: Path,
    domain: str,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the build lock of `domain`; wait up to `timeout` seconds for another holder."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = locks_dir / f"{domain}.lock"
    handle = path.open("a+")
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DomainLockedError(
                        f"{domain} is being built by {_holder(path)}; wait for that build to "
                        f"finish (or raise --lock-timeout, now {timeout:g} s) and run again."
                    ) from None
                if on_wait and not told:
                    on_wait(f"{domain}: waiting for the build in {_holder(path)} to finish")
                    told = True
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing the file releases the lock
