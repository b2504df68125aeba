{#- Incremental loading of landing exports.

    `mesh build` continues a domain's build from its last publish only when the exports
    that publish read are all still there, unchanged; it then sets MESH_LOADED_THROUGH to
    the newest export instant the publish's incremental models hold. Rows exported after
    it are new. In a full build (no table yet, or `mesh build --full`) every row is new. -#}

{% macro loaded_through() -%}
    {{ return(env_var('MESH_LOADED_THROUGH', '')) }}
{%- endmacro %}

{#- A condition: the row came with an export newer than the ones already loaded. -#}
{% macro is_new_export(exported_at='exported_at') -%}
    {%- if is_incremental() and shared_macros.loaded_through() -%}
        {{ exported_at }} > {{ dbt.cast(dbt.string_literal(shared_macros.loaded_through()), dbt.type_timestamp()) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The where clause of a model that loads landing exports: only the new ones. The instant
    is a literal, so DuckDB skips older export files by their statistics. -#}
{% macro only_new_exports(exported_at='exported_at') -%}
    {%- if is_incremental() and shared_macros.loaded_through() -%}
        where {{ shared_macros.is_new_export(exported_at) }}
    {%- endif -%}
{%- endmacro %}

{#- A query: every `key` of `relations` whose row came with a new export, i.e. the keys an
    incremental model built on these relations must recompute (its other rows stay). -#}
{% macro touched_keys(key, relations) -%}
    {%- for relation in relations %}
        select {{ key }} from {{ relation }}
        where {{ shared_macros.is_new_export() }}
        {%- if not loop.last %}
        union
        {%- endif %}
    {%- endfor %}
{%- endmacro %}
