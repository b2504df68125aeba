"""The build sandbox: a process that can write only the folders it is given, with no network.

A domain's dbt code (macros, hooks, `run_query`, Python models) runs with the builder's
rights, and DuckDB's own settings do not confine it (issue 18: `ATTACH` of another domain's
published file read-write succeeded with external access off and the configuration locked,
because builds run as root). So the confinement is the kernel's, entered by the forked child
that runs one task, before any of the domain's code runs:

1. new mount and network namespaces (`unshare`; as non-root, in a new user namespace too),
   so what follows is seen by this process only and there is no network but a loopback
   that is down;
2. every mount made private, then the whole tree read-only (`mount_setattr` with
   `AT_RECURSIVE`), except the task's writable paths, bind-mounted on themselves first and
   made writable again, and a new empty /dev/shm of its own (dbt's locks are semaphores);
3. `PR_SET_NO_NEW_PRIVS` and every capability dropped (bounding, ambient, effective,
   permitted, inheritable): without CAP_SYS_ADMIN the code cannot remount, unmount or
   `setns` back, and without CAP_SYS_PTRACE it cannot take over a process that has them.

Linux only; anything that fails raises `SandboxError` and the task does not run (fail
closed). `MESH_SANDBOX=off` runs builds without it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import platform
import sys
from collections.abc import Iterable
from pathlib import Path

from mesh.errors import MeshError

SWITCH = "MESH_SANDBOX"
OFF_HINT = f"set {SWITCH}=off to build without the sandbox (unconfined)"

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x1
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
# mount_setattr(2) has the same number on every architecture Linux added it to at once.
SYS_MOUNT_SETATTR = 442
# dbt's adapters take multiprocessing locks, POSIX semaphores that live in /dev/shm.
SHARED_MEMORY = "/dev/shm"
SHARED_MEMORY_OPTIONS = b"size=64m,mode=1777"
SYS_CAPSET = {"x86_64": 126, "aarch64": 91, "arm64": 91}


class SandboxError(MeshError):
    """The build sandbox could not be made on this machine."""


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether builds run sandboxed: always, unless MESH_SANDBOX=off (or 0, false, no)."""
    value = (environ if environ is not None else os.environ).get(SWITCH, "on")
    return value.strip().lower() not in {"off", "0", "false", "no"}


def _libc() -> ctypes.CDLL:
    if not sys.platform.startswith("linux"):
        raise SandboxError(f"the build sandbox needs Linux, not {sys.platform}")
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise SandboxError(
            f"{what} failed: {os.strerror(code)} ({errno.errorcode.get(code, code)})"
        )


def _write(path: str, text: str) -> None:
    with open(path, "w") as file:  # noqa: PTH123 - /proc files, written once each
        file.write(text)


def _unshare(libc: ctypes.CDLL) -> None:
    """New mount and network namespaces; as non-root, inside a new user namespace that maps
    this user to root of it (the rights it gives stop at the namespace's edge)."""
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare(mount, network)")
        return
    _check(
        libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET),
        "unshare(user, mount, network) (are unprivileged user namespaces enabled?)",
    )
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _mount_setattr(libc: ctypes.CDLL, path: str, flags: int, attr: _MountAttr, what: str) -> None:
    result = libc.syscall(
        SYS_MOUNT_SETATTR, AT_FDCWD, os.fsencode(path), flags, ctypes.byref(attr),
        ctypes.sizeof(attr),
    )  # fmt: skip
    _check(result, what)


def _read_only_except(libc: ctypes.CDLL, writable: list[str]) -> None:
    """Make every mount read-only but `writable`, each a mount of its own, left writable."""
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "making mounts private")
    for path in writable:
        encoded = os.fsencode(path)
        _check(libc.mount(encoded, encoded, None, MS_BIND | MS_REC, None), f"bind-mounting {path}")
    _mount_setattr(libc, "/", AT_RECURSIVE, _MountAttr(attr_set=MOUNT_ATTR_RDONLY),
                   "making the file system read-only")  # fmt: skip
    for path in writable:
        _mount_setattr(libc, path, AT_RECURSIVE, _MountAttr(attr_clr=MOUNT_ATTR_RDONLY),
                       f"making {path} writable")  # fmt: skip
    if Path(SHARED_MEMORY).is_dir():  # a fresh, private one: gone with the sandbox
        _check(libc.mount(b"tmpfs", SHARED_MEMORY.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                          SHARED_MEMORY_OPTIONS), "mounting a private /dev/shm")  # fmt: skip


def _last_capability() -> int:
    with contextlib.suppress(OSError, ValueError):
        return int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    return 63


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """No new privileges on exec, and no capability in any set, for good."""
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")
    for capability in range(_last_capability() + 1):
        _check(
            libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), f"dropping capability {capability}"
        )
    _check(
        libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
        "clearing ambient capabilities",
    )
    number = SYS_CAPSET.get(platform.machine())
    if number is None:
        raise SandboxError(f"the build sandbox does not know capset on {platform.machine()}")
    header, data = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _check(libc.syscall(number, ctypes.byref(header), ctypes.byref(data)), "dropping capabilities")


def enter(writable: Iterable[str | Path]) -> None:
    """Confine this process for good: only `writable` (existing folders or files) can be
    written, there is no network, and no way back. Call in a fresh child process."""
    paths = [os.path.realpath(p) for p in writable]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise SandboxError(f"a writable path of the build does not exist: {missing[0]}")
    libc = _libc()
    _unshare(libc)
    _read_only_except(libc, paths)
    _drop_capabilities(libc)


def die_with_parent() -> None:
    """Ask Linux to kill this process when the process that forked it dies."""
    with contextlib.suppress(OSError, AttributeError, SandboxError):
        _libc().prctl(PR_SET_PDEATHSIG, 9)  # SIGKILL


def close_fds_except(keep: Iterable[int]) -> None:
    """Close every inherited file descriptor but 0, 1, 2 and `keep`: a writable one left
    open (the pool's queues, a log) would be a way out of the sandbox."""
    kept = sorted({0, 1, 2, *keep})
    low = 0
    for fd in [*kept, 1 << 20]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
