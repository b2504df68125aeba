"""The `mesh` command (also `python -m mesh`).

The console script imports this module rather than the CLI. Python starts each dbt worker
by importing the parent's main module again; importing this one does not load the CLI
(typer, rich and every command), which would cost each worker 0.4 s before it starts.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from mesh.cli.app import main as cli
    except KeyboardInterrupt:  # Ctrl-C while the CLI loads (1-2 s): no traceback either
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    cli()


if __name__ == "__main__":
    main()
