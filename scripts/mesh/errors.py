"""Failures a user can act on. Each is caught once, in the CLI, and printed as one sentence."""


class MeshError(Exception):
    """Base class: the message says what failed, where, and what to do."""


class MeshNotFoundError(MeshError):
    """The current directory is not inside a mesh."""


class UnknownDomainError(MeshError):
    """A domain name on the command line matches no folder under domains/."""


class DomainConfigError(MeshError):
    """A domain's dbt project or dbt-loom configuration cannot be read."""


class CycleError(MeshError):
    """Domains depend on each other in a cycle."""


class MissingPublishError(MeshError):
    """A domain needs an upstream product that has never been published."""


class QueryError(MeshError):
    """DuckDB rejected a query."""


class QueryLimitError(QueryError):
    """A query passed one of its limits (time, memory, temporary disk); the message names
    the limit and how to raise it."""


class DomainLockedError(MeshError):
    """Another process is building the same domain."""


class PublishedDatabaseLockedError(MeshError):
    """A published database is held open for writing by another process."""


class DamagedRecordError(MeshError, ValueError):
    """A publish record (publish.json) is not valid JSON of a record."""


class RollbackError(MeshError):
    """There is no earlier published version to return to."""


class QueryRefusedError(QueryError):
    """A query tried to do something other than read the published products."""


class DamagedPublishError(MeshError):
    """A published file is not what was published: changed, truncated, removed or added."""
