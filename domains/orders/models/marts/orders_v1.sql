-- Deprecated: kept so consumers can move to v2 before 2027-06-30 (see orders.yml).
with orders as (
    select * from {{ ref('int_orders_totaled') }}
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
