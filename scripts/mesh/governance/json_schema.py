"""Checking a document against an open standard's JSON schema (ODCS, ODPS: draft 2019-09).

Every publish checks each contract and descriptor it writes, on the way of every downstream
build. Two validators read the same schema:

- `jsonschema-rs` (Rust) says whether a document is valid: 0.15 ms for a contract;
- `jsonschema` (Python) says why one is not, in the messages the mesh prints: 15-25 ms for a
  contract, two thirds of it in the `unevaluatedProperties` keyword the standards use.

Only a document the first finds invalid goes to the second. Where they differ the stricter
wins: `jsonschema-rs` checks the `uri` format (Python's needs a package the mesh does not
install) and reads `$` in a pattern as ECMA-262 does (Python's also matches before a final
newline). A document only it rejects is refused with its own messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import jsonschema_rs
import referencing


def is_date_time(value: object) -> bool:
    """A date-time with a date, a time and an offset, as Python's ISO 8601 parser reads them
    (laxer than RFC 3339: it also takes `2026-11-24T13+00:00`); checked here so that
    validation does not depend on jsonschema's optional format packages, and both validators
    use the same check."""
    if not isinstance(value, str):
        return True
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return False
    return len(value) > 10 and value[10] in "Tt " and parsed.tzinfo is not None


@dataclass(frozen=True)
class Schema:
    """A standard's JSON schema, ready to check documents with (`errors`)."""

    fast: Any  # jsonschema_rs validator
    full: Any  # jsonschema validator

    @classmethod
    def of(cls, text: str) -> Schema:
        """The packaged, hash-pinned copy of a schema; that each is a valid draft 2019-09
        schema is a unit test's job (checking it here cost every publishing command 0.3
        CPU-s)."""
        schema = json.loads(text)
        formats = jsonschema.FormatChecker()
        formats.checks("date-time")(is_date_time)
        # A reference outside the schema fails; neither validator ever fetches one.
        fast = jsonschema_rs.Draft201909Validator(
            schema, formats={"date-time": is_date_time}, validate_formats=True, offline=True
        )
        full = jsonschema.Draft201909Validator(
            schema, format_checker=formats, registry=referencing.Registry()
        )
        return cls(fast, full)

    def errors(self, document: Any) -> list[str]:
        """The document's errors against the schema, one line each in path order; empty
        when it is valid."""
        try:
            if self.fast.is_valid(document):
                return []
        except ValueError:  # not JSON to it (a key that is not text): jsonschema alone judges
            return [_message(error) for error in self._full_errors(document)]
        found = self._full_errors(document)
        if found:
            return [_message(error) for error in found]
        return [f"{_path(e.instance_path)}: {e.message}" for e in self.fast.iter_errors(document)]

    def _full_errors(self, document: Any) -> list[jsonschema.ValidationError]:
        return sorted(self.full.iter_errors(document), key=lambda e: list(map(str, e.path)))


def _message(error: jsonschema.ValidationError) -> str:
    message = f"{error.json_path}: {error.message}"
    if error.context:
        cause = jsonschema.exceptions.best_match(error.context)
        message += f" ({cause.json_path}: {cause.message})"
    return message


def _path(parts: list[str | int]) -> str:
    """jsonschema's way of writing where in the document: `$.schema[0].name`."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)
