{#- A stable, salted hash of a PII value, so products can join on it without exposing it.
    The value is normalised (trimmed, lower-cased) first, so ' Ada@X.com' and 'ada@x.com'
    hash alike. -#}
{% macro hash_pii(column) -%}
    {{ return(adapter.dispatch('hash_pii', 'shared_macros')(column)) }}
{%- endmacro %}

{% macro default__hash_pii(column) -%}
    {%- set salt = var('pii_salt', 'mesh') -%}
    case when {{ column }} is null then null
        else {{ dbt.hash(dbt.concat(["'" ~ salt ~ "'", "lower(trim(" ~ column ~ "))"])) }}
    end
{%- endmacro %}
