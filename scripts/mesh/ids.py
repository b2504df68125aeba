"""Ids and instants: runs and publishes are named by when they started, in UTC."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from mesh.errors import MeshError


def new_id() -> str:
    """A sortable, unique id for a run or a publish: UTC time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + os.urandom(3).hex()


def now() -> str:
    """This instant in UTC, as publish records and the history note it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


TODAY = "MESH_TODAY"


def calendar_today() -> date:
    return datetime.now(UTC).date()


def today() -> date:
    """The day date-dependent rules (deprecation dates, waivers' expiry) hold on: the
    calendar's, unless MESH_TODAY (an ISO date, e.g. 2027-07-01) names another. The one clock
    of the governance rules, so that they can be tested, and a build rehearsed, on any day."""
    text = os.environ.get(TODAY, "").strip()
    if not text:
        return calendar_today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise MeshError(f"{TODAY}={text!r} is not a date; write it as YYYY-MM-DD.") from None
