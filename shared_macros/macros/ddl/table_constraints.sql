{#-
    The columns and constraints of a contracted table's CREATE TABLE, as dbt's own macro
    renders them, except the primary key of a public product when it is a single column:
    that key is declared (contract, manifest, ODCS) but not built as a DuckDB index.

    The `public_model_primary_key_is_tested` policy requires such a key to carry `unique`
    and `not_null` data tests, and a failing test stops the publish, so the index would
    check the same thing a second time: it costs 5 s of the 7 s it takes to insert the
    6.4 million order lines at scale 100. The key column stays NOT NULL in the table. Keys
    of several columns, which carry no such tests, stay enforced by DuckDB.

    Domains select this macro over dbt's with `dispatch` in their dbt_project.yml.
-#}
{% macro duckdb__get_table_columns_and_constraints() -%}
    {%- set key = shared_macros.single_column_key(model) -%}
    {%- if model.get('access') != 'public' or not key -%}
        {{ return(table_columns_and_constraints()) }}
    {%- endif -%}
    {%- set columns = {} -%}
    {%- for name, column in model['columns'].items() -%}
        {%- set constraints = column.get('constraints', [])
            | rejectattr('type', 'equalto', 'primary_key') | list -%}
        {%- if name == key and not (constraints | selectattr('type', 'equalto', 'not_null') | list) -%}
            {%- do constraints.append({'type': 'not_null'}) -%}
        {%- endif -%}
        {%- set kept = column.copy() -%}
        {%- do kept.update({'constraints': constraints}) -%}
        {%- do columns.update({name: kept}) -%}
    {%- endfor -%}
    {%- set column_ddl = adapter.render_raw_columns_constraints(raw_columns=columns) -%}
    {%- set model_ddl = adapter.render_raw_model_constraints(
        raw_constraints=model.get('constraints', []) | rejectattr('type', 'equalto', 'primary_key') | list
    ) -%}
    (
    {% for c in column_ddl -%}
        {{ c }}{{ "," if not loop.last or model_ddl }}
    {% endfor %}
    {% for c in model_ddl -%}
        {{ c }}{{ "," if not loop.last }}
    {% endfor -%}
    )
{%- endmacro %}


{#- The name of the column a model's primary key consists of, or none for a key of several
    columns or no key. -#}
{% macro single_column_key(model) -%}
    {%- set keys = [] -%}
    {%- for name, column in model['columns'].items() -%}
        {%- if column.get('constraints', []) | selectattr('type', 'equalto', 'primary_key') | list -%}
            {%- do keys.append([name]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for constraint in model.get('constraints', []) -%}
        {%- if constraint['type'] == 'primary_key' -%}
            {%- do keys.append(constraint.get('columns', [])) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(keys[0][0] if keys | length == 1 and keys[0] | length == 1 else none) }}
{%- endmacro %}
