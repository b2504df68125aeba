{#- The filter of an incremental model that loads landing exports: in an incremental run,
    only rows of exports newer than the newest one already loaded; otherwise everything.
    The newest instant is read first and written into the SQL as a literal, so DuckDB can
    skip the older export files by their statistics instead of scanning them. -#}
{% macro only_new_exports(exported_at='exported_at') -%}
    {%- if is_incremental() -%}
        {%- set newest = run_query(
            'select max(' ~ exported_at ~ ') from ' ~ this
        ).columns[0].values()[0] -%}
        {%- if newest is not none -%}
            where {{ exported_at }} > {{ dbt.cast(dbt.string_literal(newest), dbt.type_timestamp()) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
