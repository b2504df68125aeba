{#- Trim blanks and lower-case free text typed into operational systems; empty becomes null. -#}
{% macro normalize_text(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}
