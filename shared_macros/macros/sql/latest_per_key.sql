{#- Keep the latest version of each entity from an export that re-delivers rows and
    appends late updates: one row per key, the one with the greatest `order_by`. -#}
{% macro latest_per_key(relation, key, order_by) -%}
    {{ return(adapter.dispatch('latest_per_key', 'shared_macros')(relation, key, order_by)) }}
{%- endmacro %}

{% macro default__latest_per_key(relation, key, order_by) -%}
    select * exclude (_latest_rank)
    from (
        select
            *,
            row_number() over (partition by {{ key }} order by {{ order_by }} desc) as _latest_rank
        from {{ relation }}
    ) as ranked
    where _latest_rank = 1
{%- endmacro %}

{#- Spark SQL spells DuckDB's `* exclude (...)` as `* except (...)`. -#}
{% macro spark__latest_per_key(relation, key, order_by) -%}
    select * except (_latest_rank)
    from (
        select
            *,
            row_number() over (partition by {{ key }} order by {{ order_by }} desc) as _latest_rank
        from {{ relation }}
    ) as ranked
    where _latest_rank = 1
{%- endmacro %}
