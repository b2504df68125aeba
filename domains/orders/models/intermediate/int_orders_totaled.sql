{{ config(materialized='incremental', unique_key='order_id') }}

with

{% if is_incremental() %}
    -- Only the orders whose totals can have changed: a new latest status, new lines or new
    -- payments. The others keep their rows.
    touched as (
        {{ shared_macros.touched_keys('order_id', [
            ref('int_orders_latest'),
            ref('stg_checkout__order_lines'),
            ref('stg_checkout__payments'),
        ]) }}
    ),
{% endif %}

orders as (
    select * from {{ ref('int_orders_latest') }}
    {% if is_incremental() %} where order_id in (select touched.order_id from touched) {% endif %}
),

order_lines as (
    select * from {{ ref('stg_checkout__order_lines') }}
    {% if is_incremental() %} where order_id in (select touched.order_id from touched) {% endif %}
),

payments as (
    select * from {{ ref('stg_checkout__payments') }}
    {% if is_incremental() %} where order_id in (select touched.order_id from touched) {% endif %}
),

line_totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_count,
        sum(unit_price_usd * quantity) as gross_amount_usd,
        sum(discount_usd) as discount_amount_usd,
        max(exported_at) as exported_at
    from order_lines
    group by order_id
),

-- Declined attempts are not money received; refunds give it back.
payment_totals as (
    select
        order_id,
        sum(case when payment_status = 'succeeded' then amount_usd else 0 end)
            as paid_amount_usd,
        sum(case when payment_status = 'refunded' then amount_usd else 0 end)
            as refunded_amount_usd,
        count(*) as payment_attempts,
        max(exported_at) as exported_at
    from payments
    group by order_id
),

final as (
    select
        orders.order_id,
        orders.customer_id,
        orders.channel,
        orders.order_status,
        orders.coupon_code,
        orders.ordered_at,
        orders.updated_at,
        coalesce(line_totals.line_count, 0) as line_count,
        coalesce(line_totals.item_count, 0) as item_count,
        coalesce(line_totals.gross_amount_usd, 0) as gross_amount_usd,
        coalesce(line_totals.discount_amount_usd, 0) as discount_amount_usd,
        coalesce(line_totals.gross_amount_usd, 0)
        - coalesce(line_totals.discount_amount_usd, 0) as net_amount_usd,
        coalesce(payment_totals.paid_amount_usd, 0) as paid_amount_usd,
        coalesce(payment_totals.refunded_amount_usd, 0) as refunded_amount_usd,
        coalesce(payment_totals.payment_attempts, 0) as payment_attempts,
        coalesce(payment_totals.paid_amount_usd, 0) > 0
        and coalesce(payment_totals.paid_amount_usd, 0)
        >= coalesce(line_totals.gross_amount_usd, 0) - coalesce(line_totals.discount_amount_usd, 0)
            as is_fully_paid,
        -- The newest export that changed this row: what consumers built on it look for.
        greatest(orders.exported_at, line_totals.exported_at, payment_totals.exported_at)
            as exported_at
    from orders
    left join line_totals on orders.order_id = line_totals.order_id
    left join payment_totals on orders.order_id = payment_totals.order_id
)

select * from final
