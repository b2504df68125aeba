"""Run a command inside the build sandbox, writing only the folders named.

    python -m mesh.runner.confined [--write PATH]... -- COMMAND [ARG]...


For tools that run a domain's code in a process of their own rather than in a dbt worker
(`mesh lint` runs sqlfluff, whose templater renders the domain's Jinja): this process enters
the sandbox (`mesh.runner.sandbox`: read-only file system but the `--write` paths, no
network, no capabilities, no new privileges), then replaces itself with COMMAND, which
inherits the confinement and cannot leave it. With MESH_SANDBOX=off it runs COMMAND as is.
Exit status 125 and one line on stderr when the sandbox cannot be made.
"""

from __future__ import annotations

import os
import sys

from mesh.runner import sandbox

USAGE = "usage: python -m mesh.runner.confined [--write PATH]... -- COMMAND [ARG]..."
CANNOT_CONFINE = 125  # as `env` and `nice` do when they cannot run the command


def command(args: list[str], write: list[str]) -> list[str]:
    """The command line that runs `args` confined, writing only `write`."""
    options = [part for path in write for part in ("--write", path)]
    return [sys.executable, "-m", "mesh.runner.confined", *options, "--", *args]


def main(argv: list[str]) -> int:
    write: list[str] = []
    rest = list(argv)
    while rest and rest[0] == "--write" and len(rest) > 1:
        write.append(rest[1])
        rest = rest[2:]
    if not rest or rest[0] != "--" or len(rest) < 2:
        print(USAGE, file=sys.stderr)
        return 2
    program = rest[1:]
    if sandbox.enabled():
        try:
            sandbox.enter(write)
        except sandbox.SandboxError as error:
            print(f"the sandbox could not be made ({error}); {sandbox.OFF_HINT}", file=sys.stderr)
            return CANNOT_CONFINE
    os.execvp(program[0], program)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
