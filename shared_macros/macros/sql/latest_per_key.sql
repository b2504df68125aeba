{#- Keep the latest version of each entity from an export that re-delivers rows and
    appends late updates: one row per key, the one with the greatest `order_by`. -#}
{% macro latest_per_key(relation, key, order_by) -%}
    {{ return(adapter.dispatch('latest_per_key', 'shared_macros')(relation, key, order_by)) }}
{%- endmacro %}

{% macro default__latest_per_key(relation, key, order_by) -%}
    select * {{ shared_macros.star_except() }} (_latest_rank)
    from (
        select
            *,
            row_number() over (partition by {{ key }} order by {{ order_by }} desc) as _latest_rank
        from {{ relation }}
    ) as ranked
    where _latest_rank = 1
{%- endmacro %}

{#- The keyword of `select * <keyword> (column, ...)`: DuckDB's `exclude`, Spark's `except`. -#}
{% macro star_except() -%}
    {{ return(adapter.dispatch('star_except', 'shared_macros')()) }}
{%- endmacro %}

{% macro default__star_except() -%}
    exclude
{%- endmacro %}

{% macro spark__star_except() -%}
    except
{%- endmacro %}
