"""One build per domain at a time, across processes: an advisory lock file per domain.

`flock` locks belong to the open file, so the operating system releases them when the
holder exits for any reason, `kill -9` included: a crashed build never leaves a stale lock.
The lock file is opened without following a symbolic link: a link planted in its place
would otherwise have the holder's process id written into the file it points to.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from mesh.errors import DomainLockedError, MeshError


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return "another process"
    return f"process {pid}" if pid else "another process"


def _open(path: Path) -> IO[str]:
    """The lock file, created owner-only if missing, never through a symbolic link."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.fdopen(os.open(path, flags, 0o600), "r+")
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise MeshError(
                f"The lock file {path} is a symbolic link, which a lock never is; remove it "
                "and run again."
            ) from None
        raise MeshError(f"The lock file {path} cannot be opened: {error.strerror}.") from None


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
    handle = _open(path)
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
