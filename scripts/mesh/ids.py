"""Ids and instants: runs and publishes are named by when they started, in UTC."""

from __future__ import annotations

import os
from datetime import UTC, datetime


def new_id() -> str:
    """A sortable, unique id for a run or a publish: UTC time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + os.urandom(3).hex()


def now() -> str:
    """This instant in UTC, as publish records and the history note it."""
    return datetime.now(UTC).isoformat(timespec="seconds")
