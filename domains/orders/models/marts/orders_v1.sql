-- Deprecated: kept so consumers can move to v2 before 2027-06-30 (see orders.yml).
{{ config(materialized='incremental', unique_key='order_id') }}

with orders as (
    select * from {{ ref('int_orders_totaled') }}
    -- Incremental: only the orders the new exports changed replace their rows.
    {% if is_incremental() %} where {{ shared_macros.is_new_export() }} {% endif %}
),

final as (
    select
        order_id,
        customer_id,
        order_status,
        ordered_at,
        {{ dbt.cast('gross_amount_usd', 'double') }} as order_total,
        is_fully_paid as is_paid
    from orders
)

select * from final
