{#-
    Where a model of a domain is built on DuckDB: its products (public models) in the
    domain's own database, `<domain>`, the file the mesh publishes; everything else (staging,
    intermediate, private marts, seeds) in `<domain>__private`, the domain's private database,
    which is never published and which only the domain's own builds read. The products file
    then never holds private data, not even fragments of dropped tables.

    A model cannot choose another database (`+database`): that would let a domain write
    where the mesh does not look, or into another domain's attached database.

    Domains select this macro over dbt's with `dispatch` in their dbt_project.yml; on Spark
    dbt's own applies (the Spark engine publishes products its own way).
-#}
{% macro duckdb__generate_database_name(custom_database_name=none, node=none) -%}
    {%- if custom_database_name is not none -%}
        {{ exceptions.raise_compiler_error(
            node.resource_type ~ " " ~ node.name ~ " sets database '" ~ custom_database_name
            ~ "': a domain's models are built in its own databases only (products in "
            ~ target.database ~ ", the rest in " ~ target.database ~ "__private)."
            ~ " Remove the database config.") }}
    {%- elif node is not none and node.resource_type == 'model'
            and node.config.get('access') == 'public' -%}
        {{ target.database }}
    {%- else -%}
        {{ target.database }}__private
    {%- endif -%}
{%- endmacro %}
