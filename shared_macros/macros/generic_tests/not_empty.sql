{#- Fails when the model has no rows: a product that publishes nothing is broken. -#}
{% test not_empty(model) %}
    select 1 as failure
    where not exists (select 1 from {{ model }})
{% endtest %}
