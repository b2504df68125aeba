{#- Contracts name DuckDB/ANSI types (`varchar`). Spark SQL has no unbounded `varchar`: it
    spells it `string`. dbt builds the contract's expected schema with `cast(null as <type>)`
    through dbt.cast, so a Spark override of `cast` keeps one contract for both engines.
    Domains route dbt's `cast` here with `dispatch` in dbt_project.yml. -#}
{% macro spark__cast(field, type) -%}
    {%- set spelled = type | string -%}
    {%- if spelled | trim | lower in ('varchar', 'text', 'char', 'bpchar') -%}
        {%- set spelled = 'string' -%}
    {%- endif -%}
    cast({{ field }} as {{ spelled }})
{%- endmacro %}
