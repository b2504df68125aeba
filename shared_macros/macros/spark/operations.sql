{#- The steps `mesh build --target spark` runs around a domain's `dbt build`, as
    `dbt run-operation`s on the build's own Spark connection.

    A domain's build writes a new version schema, `<domain>__<run>`; readers never use this
    catalog: `mesh query` registers the products of a snapshot's versions in its own. -#}

{#- Before the build: make the build's version schema (the target's), located in the mesh's
    table folder ($MESH_SPARK_WAREHOUSE/<schema>.db), where `mesh query` reads its products,
    whichever Spark runs the build (a local session, or a Thrift server whose own warehouse
    is elsewhere). Then expose the landing exports ($MESH_LANDING_DIR/<table>/) as the
    relations `source()` resolves to: one unmanaged Parquet table per source table, in the
    version schema (the sources' `schema`). Spark reads every file of the table folder,
    which are exactly the files DuckDB reads by name (the sources' meta.external_location):
    before dbt runs, the mesh refuses the build if the folder holds anything but regular
    export files, each listed and matched by a delivery manifest (mesh.data.landing). -#}
{% macro register_landing_sources() -%}
    {%- set landing = shared_macros.spark_string(env_var('MESH_LANDING_DIR')) -%}
    {%- set tables = shared_macros.spark_string(env_var('MESH_SPARK_WAREHOUSE')) -%}
    {%- do run_query(
        "create schema if not exists " ~ target.schema
        ~ " location '" ~ tables ~ "/" ~ target.schema ~ ".db'"
    ) -%}
    {%- for source in graph.sources.values() if source.package_name == project_name -%}
        {%- set relation = source.schema ~ '.' ~ source.identifier -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query(
            "create table " ~ relation ~ " using parquet options (path '"
            ~ landing ~ "/" ~ source.identifier ~ "', mergeSchema 'true')"
        ) -%}
    {%- endfor -%}
{%- endmacro %}

{#- The inside of a Spark SQL string literal holding `text` (Spark escapes with backslashes). -#}
{% macro spark_string(text) -%}
    {{- text | replace("\\", "\\\\") | replace("'", "\\'") -}}
{%- endmacro %}

{#- Drop the version schemas of `domain` that nothing reads any more (failed builds,
    publishes older than the kept ones): every `<domain>__<run id>` not in `keep`. And drop
    the PII key an earlier build of another domain declared in this worker's Spark session
    (shared_macros.hash_pii): only builds of domains that own PII may read it. -#}
{% macro drop_versions(domain, keep) -%}
    {%- do run_query('drop temporary variable if exists mesh_pii_key') -%}
    {%- set version = modules.re.compile('^' ~ domain ~ '__[0-9]{8}t[0-9]{12}z_[0-9a-f]{6}$') -%}
    {%- for row in run_query("show schemas like '" ~ domain ~ "__*'") -%}
        {%- set schema = row[0] -%}
        {%- if version.match(schema) and schema not in keep -%}
            {%- do run_query('drop schema if exists ' ~ schema ~ ' cascade') -%}
            {{ log('dropped ' ~ schema, info=true) }}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- Before publishing: the publish gate's checks of data (consumers' expectations, volume,
    personal data), made into queries by the mesh. Each query returns one value, NULL when
    its check holds; any other fails the operation, naming every failed check. -#}
{% macro run_checks(checks) -%}
    {%- set failed = [] -%}
    {%- for check in checks -%}
        {%- set found = run_query(check.sql).columns[0].values()[0] -%}
        {%- if found is not none -%}
            {%- do failed.append(check.label ~ ' -> ' ~ found ~ ' ' ~ check.counted) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if failed -%}
        {{ exceptions.raise_compiler_error(
            'publish gate checks failed:\n' ~ (failed | join('\n'))) }}
    {%- endif -%}
{%- endmacro %}
