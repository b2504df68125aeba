"""CLI: the `mesh` command. Parses arguments, calls the other subpackages, prints.

Holds no logic of its own: `app` (the commands), `output` (tables, CSV, JSON) and `progress`
(the live build display).

May import: every subpackage.
"""
