{#- The steps `mesh build --target spark` runs around a domain's `dbt build`, as
    `dbt run-operation`s on the build's own Spark connection (session or thrift alike).

    A domain's build writes a new version schema, `<domain>__<run>`; its published views,
    `<domain>.<relation>`, are switched to it only after every model and test passed. -#}

{#- Before the build: expose the landing exports ($MESH_LANDING_DIR/<table>/*.parquet) as
    the relations `source()` resolves to (`<source>.<table>`), one unmanaged Parquet table
    each, made again on every build so that new export files and columns are seen. DuckDB
    reads the files directly (the sources' meta.external_location). -#}
{% macro register_landing_sources() -%}
    {%- set landing = env_var('MESH_LANDING_DIR') -%}
    {%- for source in graph.sources.values() if source.package_name == project_name -%}
        {%- set relation = source.schema ~ '.' ~ source.identifier -%}
        {%- do run_query('create schema if not exists ' ~ source.schema) -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query(
            "create table " ~ relation ~ " using parquet options (path '"
            ~ landing ~ "/" ~ source.identifier ~ "', mergeSchema 'true')"
        ) -%}
    {%- endfor -%}
{%- endmacro %}

{#- Drop the version schemas of `domain` that no kept publish reads: failed builds and
    publishes older than the ones kept. -#}
{% macro drop_versions(domain, keep) -%}
    {%- for row in run_query("show schemas like '" ~ domain ~ "__*'") -%}
        {%- set schema = row[0] -%}
        {%- if schema not in keep -%}
            {%- do run_query('drop schema if exists ' ~ schema ~ ' cascade') -%}
            {{ log('dropped ' ~ schema, info=true) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- After the build passed: point each published view `<domain>.<relation>` at the new
    version's table. Readers of a view see the old version or the new one, never a mix. -#}
{% macro publish_views(domain, version, relations) -%}
    {%- do run_query('create schema if not exists ' ~ domain) -%}
    {%- for relation in relations -%}
        {%- do run_query(
            'create or replace view ' ~ domain ~ '.' ~ relation
            ~ ' as select * from ' ~ version ~ '.' ~ relation
        ) -%}
    {%- endfor -%}
{%- endmacro %}
