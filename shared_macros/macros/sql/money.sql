{#- Cast a monetary string or number to the mesh's money type (two decimals). -#}
{% macro money(column) -%}
    {{ dbt.cast(column, 'decimal(18, 2)') }}
{%- endmacro %}
