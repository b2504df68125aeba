{#- dbt-spark 1.11 applies not_null constraints with ALTER COLUMN ... SET NOT NULL whenever
    file_format is unset (it assumes delta), which Parquet tables reject
    (UNSUPPORTED_FEATURE.TABLE_OPERATION). Only Delta tables can hold them; elsewhere the
    contract's column names and types are still checked, and the not_null/unique data tests
    stand in for the constraints. -#}
{% macro spark__persist_constraints(relation, model) -%}
    {%- if config.get('file_format') == 'delta' -%}
        {{ dbt_spark.spark__persist_constraints(relation, model) }}
    {%- endif -%}
{%- endmacro %}
