{#- One row per calendar day from `first_day` to `last_day` (both included, 'YYYY-MM-DD'), in
    a column `date_day` of type date: the rows of a time spine. -#}
{% macro calendar_days(first_day, last_day) -%}
    {{ return(adapter.dispatch('calendar_days', 'shared_macros')(first_day, last_day)) }}
{%- endmacro %}

{% macro default__calendar_days(first_day, last_day) -%}
    select cast(day as date) as date_day
    from range(date '{{ first_day }}', date '{{ last_day }}' + interval 1 day, interval 1 day) as days (day)
{%- endmacro %}

{% macro spark__calendar_days(first_day, last_day) -%}
    select explode(sequence(date '{{ first_day }}', date '{{ last_day }}', interval 1 day)) as date_day
{%- endmacro %}
