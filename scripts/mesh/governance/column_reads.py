"""Which columns of one relation a SQL query reads, found with sqlglot's optimizer.

A breaking change names columns, and a consumer model is broken only if its SQL reads one of
them. A regular expression cannot tell a `select *` of the relation that a later CTE narrows
from one that reaches the output, nor a column of the relation from a column of the same name
in a joined table. So the query is parsed (DuckDB, as dbt-duckdb compiles it), qualified by
sqlglot (`qualify`: aliases, `using` joins, columns placed in their sources where the sources'
columns are known) and walked scope by scope (`build_scope`) from its output back to the
relation: each CTE, subquery and branch of a union is asked only for the columns its readers
use, and reads those plus the columns of its own joins, filters, groupings and orderings.
A star passes on what is asked of it: `select *` of the relation in a CTE that a later select
narrows reads the narrowed columns; a star that reaches the output reads every column.

Where a column cannot be placed for sure (an unqualified name in a join of sources whose
columns are unknown, a DuckDB `COLUMNS(...)` expression, a whole row as a value), it counts
as read from every source that may have it: the answer may say too much, never too little.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlglot import exp, parse_one
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope

DIALECT = "duckdb"

# What a reader asks of a scope: the names of its output columns, or None for all of them.
Asked = frozenset[str] | None
Source = exp.Table | Scope


@dataclass(frozen=True)
class Relation:
    """A table or view as compiled SQL names it: `"orders"."main"."orders_v2"`."""

    database: str | None
    schema: str | None
    name: str

    def names(self, table: exp.Table) -> bool:
        """Whether `table` in a query is this relation (unqualified parts match any)."""
        parts = ((table.name, self.name), (table.db, self.schema), (table.catalog, self.database))
        return all(not seen or not own or seen.lower() == own.lower() for seen, own in parts)


@dataclass(frozen=True)
class Reads:
    """The relation's columns a query reads (lower case); `every_column` for a star that
    reaches the output unnarrowed."""

    columns: frozenset[str]
    every_column: bool


def columns_read(sql: str, relation: Relation, columns: Iterable[str] | None) -> Reads | None:
    """The columns of `relation` that `sql` reads, or None if the SQL cannot be analysed
    (it does not parse, or the relation is not named in it).

    `columns` are the relation's columns when they are known in full: they place unqualified
    names in joins exactly. Without them such names count as read from every source.
    """
    known = frozenset(c.lower() for c in columns) if columns is not None else None
    try:
        expression = parse_one(sql, read=DIALECT)
        schema = _schema(relation, known) if known else None
        qualified = qualify(
            expression,
            dialect=DIALECT,
            schema=schema,
            expand_stars=False,
            validate_qualify_columns=False,
        )
        root = build_scope(qualified)
        return None if root is None else _Walk(relation, known).run(root)
    except (SqlglotError, RecursionError):
        return None


def _schema(relation: Relation, known: frozenset[str]) -> dict[str, object]:
    table: dict[str, object] = {relation.name: dict.fromkeys(sorted(known), "unknown")}
    for part in (relation.schema, relation.database):
        if part:
            table = {part: table}
    return table


@dataclass
class _Walk:
    """One walk of a query's scopes, from its output back to the relation."""

    relation: Relation
    known: frozenset[str] | None
    asked: dict[int, Asked] = field(default_factory=dict)
    pending: list[Scope] = field(default_factory=list)
    read: set[str] = field(default_factory=set)
    every: bool = False
    _provides: dict[int, frozenset[str] | None] = field(default_factory=dict)

    def run(self, root: Scope) -> Reads | None:
        scopes = list(root.traverse())
        if not any(self._is_relation(s) for scope in scopes for s in scope.sources.values()):
            return None
        self._ask(root, None)
        for scope in scopes:
            if scope.is_subquery or scope.is_udtf:  # used in an expression: all of it counts
                self._ask(scope, None)
        while self.pending:
            self._visit(self.pending.pop())
        if self.every and self.known is not None:
            self.read |= self.known
        return Reads(frozenset(self.read), self.every)

    def _ask(self, scope: Scope, names: Asked) -> None:
        key = id(scope.expression)
        if key in self.asked:
            before = self.asked[key]
            merged = None if before is None or names is None else before | names
            if merged == before:
                return
        else:
            merged = names
        self.asked[key] = merged
        self.pending.append(scope)

    def _visit(self, scope: Scope) -> None:
        asked = self.asked[id(scope.expression)]
        expression = scope.expression
        if isinstance(expression, exp.SetOperation):
            self._visit_set_operation(scope, asked)
        elif isinstance(expression, exp.Select):
            self._visit_select(scope, expression, asked)
        else:  # VALUES and the like: read everything they select from
            for source in _selected(scope):
                self._take_every(source)

    def _visit_set_operation(self, scope: Scope, asked: Asked) -> None:
        """A union asks its branches for the same columns by position; a distinct union,
        `intersect`, `except` and DuckDB's `union by name` compare every column."""
        branches, operation = scope.set_operation_scopes, scope.expression
        whole_rows = not isinstance(operation, exp.Union) or operation.args.get("distinct")
        if asked is None or whole_rows or operation.args.get("by_name"):
            for branch in branches:
                self._ask(branch, None)
            return
        first = _output_names(branches[0])
        if first is None:  # a star: the first branch answers by name, the others unknown
            for number, branch in enumerate(branches):
                self._ask(branch, asked if number == 0 else None)
            return
        positions = [i for i, name in enumerate(first) if name in asked]
        for branch in branches:
            names = _output_names(branch)
            if names is None or len(names) != len(first):
                self._ask(branch, None)
            else:
                self._ask(branch, frozenset(names[i] for i in positions))

    def _visit_select(self, scope: Scope, select: exp.Select, asked: Asked) -> None:
        if select.args.get("distinct"):
            asked = None  # every projection decides which rows are distinct
        projections = [p for p in select.selects if not _is_star(p)]
        named = {p.alias_or_name.lower() for p in projections}
        wanted = set(named if asked is None else named & asked)
        nodes = list(_own_nodes(select))
        for node in nodes:  # ORDER BY, QUALIFY... may name a projection by its alias
            name = node.name.lower() if isinstance(node, exp.Column) and not node.table else ""
            if name in named and _projection(node, select) is None:
                wanted.add(name)
        used = {id(p) for p in projections if p.alias_or_name.lower() in wanted}
        for node in nodes:
            projection = _projection(node, select)
            if projection is None or _is_star(projection) or id(projection) in used:
                self._read_node(scope, node, projection)
        # Stars pass on what is asked of them and no named projection answers.
        rest = None if asked is None else asked - named
        for star in (p for p in select.selects if _is_star(p)):
            sources = self._sources(scope, star.table) if isinstance(star, exp.Column) else None
            sources = sources if sources is not None else _selected(scope)
            excluded = _excluded(star)
            if rest is None:
                for source in sources:
                    self._take_every(source, excluded)
                continue
            for name in rest - excluded:
                for source in self._providers(sources, name):
                    self._take(source, name)

    def _read_node(self, scope: Scope, node: exp.Expr, projection: exp.Expr | None) -> None:
        """What one node of a select reads (a star projection passes on what is asked)."""
        whole_rows: list[Source] = []
        if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
            if node is not projection:  # `struct_pack(t.*)`: the whole row as a value
                whole_rows = self._sources(scope, node.table) or []
        elif isinstance(node, exp.Column) and node.arg_key != "except_":
            self._read_column(scope, node)
        elif isinstance(node, exp.Star) and not isinstance(node.parent, exp.Count | exp.Column):
            whole_rows = [] if node is projection else _selected(scope)
        elif isinstance(node, exp.TableColumn):  # `select t from t`: the whole row as a value
            whole_rows = self._sources(scope, node.name) or []
        elif isinstance(node, exp.Columns):  # DuckDB's COLUMNS(...): its names are not known
            whole_rows = _selected(scope)
        for source in whole_rows:
            self._take_every(source)

    def _read_column(self, scope: Scope, column: exp.Column) -> None:
        name = column.name.lower()
        if column.table:
            sources = self._sources(scope, column.table)
            if sources is None and column.db:  # `t.struct_column.field`
                sources, name = self._sources(scope, column.db), column.table.lower()
            for source in sources or []:
                self._take(source, name)
            return
        current: Scope | None = scope
        while current is not None:  # the innermost scope with a source that may have it
            aliases = {alias.lower(): s for alias, s in _selected_by_name(current).items()}
            whole_row = name in aliases and not any(
                name in (self._columns(s) or ()) for s in aliases.values()
            )
            if whole_row:  # `select t from t`: the whole row as a value
                self._take_every(aliases[name])
            candidates = self._providers(list(aliases.values()), name)
            for source in candidates:
                self._take(source, name)
            if whole_row or candidates:
                return
            current = current.parent

    def _sources(self, scope: Scope, table: str) -> list[Source] | None:
        """The source a qualifier names, in this scope or an enclosing one (correlated)."""
        current: Scope | None = scope
        while current is not None:
            for alias, source in _selected_by_name(current).items():
                if alias.lower() == table.lower():
                    return [source]
            current = current.parent
        return None

    def _providers(self, sources: list[Source], name: str) -> list[Source]:
        """The sources that have a column `name`: those known to, else any that may."""
        columns = [(source, self._columns(source)) for source in sources]
        known = [source for source, names in columns if names is not None and name in names]
        return known or [source for source, names in columns if names is None]

    def _columns(self, source: Source) -> frozenset[str] | None:
        """A source's output columns, None if unknown (a table other than the relation)."""
        key = id(source) if isinstance(source, exp.Table) else id(source.expression)
        if key in self._provides:
            return self._provides[key]
        self._provides[key] = None  # a recursive CTE reads itself: unknown
        found: frozenset[str] | None = None
        if isinstance(source, exp.Table):
            found = self.known if self._is_relation(source) else None
        elif isinstance(source.expression, exp.SetOperation) and source.set_operation_scopes:
            found = self._columns(source.set_operation_scopes[0])
        elif isinstance(source.expression, exp.Select):
            found = self._select_columns(source, source.expression)
        self._provides[key] = found
        return found

    def _select_columns(self, scope: Scope, select: exp.Select) -> frozenset[str] | None:
        names: set[str] = set()
        for projection in select.selects:
            if not _is_star(projection):
                names.add(projection.alias_or_name.lower())
                continue
            table = projection.table if isinstance(projection, exp.Column) else None
            sources = (self._sources(scope, table) if table else None) or _selected(scope)
            for source in sources:
                columns = self._columns(source)
                if columns is None:
                    return None
                names |= columns - _excluded(projection)
        return frozenset(names)

    def _take(self, source: Source, name: str) -> None:
        if isinstance(source, Scope):
            self._ask(source, frozenset({name}))
        elif self._is_relation(source) and (self.known is None or name in self.known):
            self.read.add(name)

    def _take_every(self, source: Source, excluded: frozenset[str] = frozenset()) -> None:
        if isinstance(source, Scope):
            self._ask(source, None)
        elif self._is_relation(source):
            if excluded and self.known is not None:
                self.read |= self.known - excluded
            else:
                self.every = True

    def _is_relation(self, source: Source) -> bool:
        return isinstance(source, exp.Table) and self.relation.names(source)


def _selected_by_name(scope: Scope) -> dict[str, Source]:
    return {alias: source for alias, (_, source) in scope.selected_sources.items()}


def _selected(scope: Scope) -> list[Source]:
    return list(_selected_by_name(scope).values())


def _own_nodes(select: exp.Select) -> Iterator[exp.Expr]:
    """The nodes of a select, without those of the queries nested in it (their own scopes)."""
    for node in select.walk(prune=lambda n: n is not select and isinstance(n, exp.Query)):
        if node is select or not isinstance(node, exp.Query):
            yield node


def _projection(node: exp.Expr, select: exp.Select) -> exp.Expr | None:
    """The projection of `select` that holds `node`, if it is in one."""
    while node.parent is not None and node.parent is not select:
        node = node.parent
    return node if node.parent is select and node.arg_key == "expressions" else None


def _is_star(projection: exp.Expr) -> bool:
    return isinstance(projection, exp.Star) or (
        isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
    )


def _excluded(star: exp.Expr) -> frozenset[str]:
    """The columns a DuckDB `* exclude (...)` leaves out."""
    node = star.this if isinstance(star, exp.Column) else star
    return frozenset(c.name.lower() for c in node.args.get("except_") or [])


def _output_names(scope: Scope) -> list[str] | None:
    """A query's output column names in order; None if a star leaves them unknown."""
    expression = scope.expression
    if isinstance(expression, exp.SetOperation):
        branches = scope.set_operation_scopes
        return _output_names(branches[0]) if branches else None
    if not isinstance(expression, exp.Select) or any(_is_star(p) for p in expression.selects):
        return None
    return [p.alias_or_name.lower() for p in expression.selects]
