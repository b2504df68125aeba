{#- Rows whose combination of `columns` occurs more than once: the data test of a primary
    key of several columns, which holds on engines that do not enforce constraints. -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
