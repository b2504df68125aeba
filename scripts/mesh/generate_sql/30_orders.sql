-- Checkout system export of the orders domain: orders, order lines and payments.
create schema orders;

create temp table order_facts as
with base as (
    select
        order_id,
        1 + pick(order_id, 'customer', getvariable('n_customers')) as customer_id,
        export_time() - to_seconds(pick(order_id, 'ordered', 86400 * 365)) as ordered_at,
        list_extract(['web', 'app', 'marketplace'], 1 + pick(order_id, 'channel', 3)) as channel
    from range(1, getvariable('n_orders') + 1) as ids(order_id)
)

select
    *,
    case
        when rnd(order_id, 'cancelled') < 0.06 then 'cancelled'
        when ordered_at > export_time() - interval 2 day then 'placed'
        when ordered_at > export_time() - interval 9 day and rnd(order_id, 'in_transit') < 0.6
            then 'shipped'
        else 'delivered'
    end as final_status
from base;

create table orders.orders as
with versions as (
    -- Checkout writes the order when it is placed ...
    select order_id, customer_id, channel, ordered_at, 'placed' as status, ordered_at as updated_at
    from order_facts
    where final_status = 'placed' or rnd(order_id, 'exported_early') < 0.35
    union all
    -- ... and exports it again, late, every time its status moves on.
    select
        order_id, customer_id, channel, ordered_at, final_status,
        ordered_at + to_seconds(3600 + pick(order_id, 'status_at', 86400 * 8))
    from order_facts
    where final_status <> 'placed'
),

shaped as (
    select
        order_id,
        customer_id,
        channel,
        status,
        case when rnd(order_id, 'coupon_null') < 0.8 then null
            else 'SAVE' || (5 * (1 + pick(order_id, 'coupon', 4)))::varchar
        end as coupon_code,
        strftime(ordered_at, '%Y-%m-%d %H:%M:%S') as ordered_at,
        strftime(updated_at, '%Y-%m-%d %H:%M:%S') as updated_at
    from versions
)

select * from shaped
union all
select * from shaped where rnd(order_id || status, 'redelivered') < 0.02;

create temp table line_facts as
select
    order_facts.order_id * 10 + line_no as order_line_id,
    order_facts.order_id,
    line_no,
    1 + pick(order_facts.order_id * 10 + line_no, 'product', getvariable('n_products')) as product_id,
    1 + pick(order_facts.order_id * 10 + line_no, 'quantity', 3) as quantity,
    order_facts.ordered_at
from order_facts,
    range(1, 2 + pick(order_facts.order_id, 'lines', 4)) as lines(line_no);

create table orders.order_lines as
with priced as (
    -- Checkout captures the list price that was valid when the order was placed.
    select
        line_facts.order_line_id,
        line_facts.order_id,
        line_facts.line_no,
        line_facts.product_id,
        line_facts.quantity,
        prices.list_price::decimal(18, 2) as unit_price
    from line_facts
    asof inner join (
        select distinct product_id, list_price, valid_from::timestamp as valid_from
        from catalog.product_prices
    ) as prices
        on line_facts.product_id = prices.product_id
        and line_facts.ordered_at >= prices.valid_from
),

shaped as (
    select
        order_line_id,
        order_id,
        line_no,
        product_id,
        quantity,
        printf('%.2f', unit_price) as unit_price,
        case when rnd(order_line_id, 'discount') < 0.85 then null
            else printf('%.2f', round(unit_price * quantity * 0.1, 2))
        end as discount_amount
    from priced
)

select * from shaped
union all
select * from shaped where rnd(order_line_id, 'redelivered') < 0.02;

create table orders.payments as
with totals as (
    select
        order_facts.order_id,
        order_facts.ordered_at,
        order_facts.final_status,
        sum(lines.unit_price::decimal(18, 2) * lines.quantity
            - coalesce(lines.discount_amount::decimal(18, 2), 0)) as amount
    from order_facts
    inner join (select distinct * from orders.order_lines) as lines
        on order_facts.order_id = lines.order_id
    group by all
),

attempts as (
    -- A few first attempts are declined and retried.
    select order_id, ordered_at, amount, 1 as attempt_no, 'failed' as status
    from totals
    where rnd(order_id, 'declined') < 0.05
    union all
    select
        order_id, ordered_at, amount, 2,
        case when final_status = 'cancelled' then 'refunded' else 'succeeded' end
    from totals
),

shaped as (
    select
        order_id * 10 + attempt_no as payment_id,
        order_id,
        case when rnd(order_id, 'method_null') < 0.03 then null
            else list_extract(['card', 'paypal', 'gift_card', 'bank_transfer'],
                1 + pick(order_id, 'method', 4))
        end as payment_method,
        status,
        printf('%.2f', amount) as amount,
        strftime(ordered_at + to_seconds(30 * attempt_no + pick(order_id, 'paid', 600)),
            '%Y-%m-%d %H:%M:%S') as paid_at
    from attempts
)

select * from shaped
union all
select * from shaped where rnd(payment_id, 'redelivered') < 0.02;
