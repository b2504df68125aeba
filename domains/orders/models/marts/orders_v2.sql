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
        channel,
        order_status,
        ordered_at,
        {{ dbt.cast(dbt.date_trunc('day', 'ordered_at'), 'date') }} as ordered_date,
        {{ dbt.cast('item_count', dbt.type_int()) }} as item_count,
        {{ shared_macros.money('gross_amount_usd') }} as gross_amount_usd,
        {{ shared_macros.money('discount_amount_usd') }} as discount_amount_usd,
        {{ shared_macros.money('net_amount_usd') }} as net_amount_usd,
        {{ shared_macros.money('refunded_amount_usd') }} as refunded_amount_usd,
        is_fully_paid,
        coupon_code is not null as has_coupon,
        updated_at as status_updated_at
    from orders
)

select * from final
