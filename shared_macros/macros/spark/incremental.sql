{#- The mesh's incremental models on Spark. Their strategy, delete+insert on a unique key,
    is one that dbt-spark refuses for Parquet tables (it has no DELETE). On Spark, though,
    `mesh build` writes every build into a new version schema, so an incremental model is
    always built whole there, as in its first build on any engine: this materialization
    does that, and refuses to run into an existing table instead of silently appending.
    A domain with incremental models selects it in its macros/spark_incremental.sql. -#}
{% materialization incremental, adapter='spark', supported_languages=['sql'] -%}
  {%- set existing_relation = load_relation(this) -%}
  {%- if existing_relation is not none and not should_full_refresh() -%}
    {{ exceptions.raise_compiler_error(
        "Incremental model " ~ this ~ " already exists. On Spark the mesh builds every "
        ~ "version into a new schema (mesh build --target spark); run dbt with --full-refresh "
        ~ "to rebuild it in place.") }}
  {%- endif -%}

  {{ run_hooks(pre_hooks) }}
  {%- if existing_relation is not none -%}
    {% do adapter.drop_relation(existing_relation) %}
  {%- endif -%}
  {%- call statement('main') -%}
    {{ create_table_as(False, this, compiled_code) }}
  {%- endcall -%}
  {% do persist_constraints(this, model) %}
  {% do persist_docs(this, model) %}
  {{ run_hooks(post_hooks) }}
  {{ return({'relations': [this]}) }}
{%- endmaterialization %}
