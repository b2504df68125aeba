{#- On Spark, incremental models use shared_macros' materialization (every Spark build of
    the mesh writes a new version, so they are built whole). dbt takes a package's version
    of a built-in materialization only when the root project asks for it, as this does. -#}
{% materialization incremental, adapter='spark' -%}
    {{ return(shared_macros.materialization_incremental_spark()) }}
{%- endmaterialization %}
