"""The local web server of `mesh catalog --serve`."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mesh.errors import MeshError


def serve(path: Path, port: int) -> None:
    """Serve a built catalog (its folder or its index.html) on http://127.0.0.1:<port>/."""
    folder = path.parent if path.is_file() else path
    if not (folder / "index.html").is_file():
        raise MeshError(f"{folder} holds no catalog; build it first with `mesh catalog`.")
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise MeshError(
            f"Cannot serve the catalog on port {port}: {error.strerror or error}. "
            "Choose another with --port."
        ) from error
    with server:
        server.serve_forever()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass
