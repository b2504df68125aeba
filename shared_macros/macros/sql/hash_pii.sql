{#- A keyed hash (HMAC-SHA-256) of a PII value, so products can join on it without exposing
    it: 64 lower-case hex digits. The value is normalised (trimmed, lower-cased) first, so
    ' Ada@X.com' and 'ada@x.com' hash alike. The key is held by the mesh, not in the
    repository (mesh.governance.pii_key), and reaches the engine outside the SQL text, so
    the compiled SQL dbt publishes never holds it: on DuckDB as session variables holding
    HMAC's inner and outer keys (set by mesh.engines.duckdb.dbt_plugin), on Spark as a
    session variable declared from the session's configuration. Only builds of domains that
    own PII get the key; in any other build a non-null value is a run-time error. -#}
{% macro hash_pii(column) -%}
    {{ return(adapter.dispatch('hash_pii', 'shared_macros')(column)) }}
{%- endmacro %}

{#- The error of a build without the key (hash_pii in a domain that owns no PII, or dbt run
    outside `mesh build`). -#}
{% macro pii_key_missing() -%}
    'shared_macros.hash_pii: this build has no PII key; mesh build hands the mesh key only to domains that tag a column pii in their own models or sources'
{%- endmacro %}

{#- HMAC from its definition, sha256(outer key || sha256(inner key || message)): DuckDB has
    no hmac(). -#}
{% macro duckdb__hash_pii(column) -%}
    case
        when {{ column }} is null then null
        when getvariable('mesh_pii_ipad') is null then error({{ shared_macros.pii_key_missing() }})
        else sha256(
            getvariable('mesh_pii_opad')
            || unhex(sha256(getvariable('mesh_pii_ipad') || encode(lower(trim({{ column }})))))
        )
    end
{%- endmacro %}

{#- The key travels in the session configuration `spark.mesh.pii_key` (profiles.yml), which
    the declaration below reads by substitution when it runs. The model's SQL names only the
    session variable, so no error message about it can show the key. -#}
{% macro spark__hash_pii(column) -%}
    {%- if execute -%}
        {%- do run_query(
            "declare or replace variable mesh_pii_key binary default unhex('${spark.mesh.pii_key}')"
        ) -%}
    {%- endif -%}
    case
        when {{ column }} is null then null
        when coalesce(length(mesh_pii_key), 0) = 0 then raise_error({{ shared_macros.pii_key_missing() }})
        else lower(hex(hmac(mesh_pii_key, encode(lower(trim({{ column }})), 'UTF-8'))))
    end
{%- endmacro %}

{% macro default__hash_pii(column) -%}
    {{ exceptions.raise_compiler_error(
        'shared_macros.hash_pii has no keyed hash for the ' ~ adapter.type() ~ ' adapter.') }}
{%- endmacro %}
