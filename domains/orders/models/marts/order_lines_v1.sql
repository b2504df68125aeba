{{ config(materialized='incremental', unique_key='order_line_id') }}

with

{% if is_incremental() %}
    -- Only the lines of orders with new lines or a new status replace their rows.
    touched as (
        {{ shared_macros.touched_keys('order_id', [
            ref('int_orders_latest'), ref('stg_checkout__order_lines')
        ]) }}
    ),
{% endif %}

order_lines as (
    select * from {{ ref('stg_checkout__order_lines') }}
    {% if is_incremental() %} where order_id in (select touched.order_id from touched) {% endif %}
),

orders as (
    select * from {{ ref('int_orders_latest') }}
),

final as (
    select
        order_lines.order_line_id,
        order_lines.order_id,
        order_lines.product_id,
        orders.ordered_at,
        {{ dbt.cast(dbt.date_trunc('day', 'orders.ordered_at'), 'date') }} as ordered_date,
        orders.order_status,
        order_lines.quantity,
        order_lines.unit_price_usd,
        order_lines.discount_usd,
        {{ shared_macros.money(
            'order_lines.unit_price_usd * order_lines.quantity - order_lines.discount_usd'
        ) }} as net_amount_usd
    from order_lines
    inner join orders on order_lines.order_id = orders.order_id
)

select * from final
