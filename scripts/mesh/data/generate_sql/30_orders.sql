-- Checkout system export of the orders domain: orders, order lines and payments.
--
-- Every order has a life: placed, then cancelled, or shipped and delivered. Its id decides
-- when it was placed, and hashes of the id decide everything after, so any export can
-- replay the lives of the orders around its window and keep only the events inside it.
create schema orders;
create type order_channel as enum ('web', 'app', 'marketplace');
create type order_status as enum ('placed', 'cancelled', 'shipped', 'delivered');
create type coupon_code as enum ('SAVE5', 'SAVE10', 'SAVE15', 'SAVE20');
create type payment_method as enum ('card', 'paypal', 'gift_card', 'bank_transfer');
create type payment_status as enum ('failed', 'refunded', 'succeeded');

-- The orders whose life can touch this export: placed inside the window, or in the 30 days
-- before it (a life ends at most 16 days after the order).
-- range() yields its rows on one thread; a table's scan spreads the work over every core.
create temp table order_ids as
select order_id
from range(
    greatest(1, floor(
        (epoch(export_from() - interval 30 day) - epoch(history_start())) / seconds_per_order()
    )::bigint),
    floor((epoch(export_to()) - epoch(history_start())) / seconds_per_order())::bigint + 2
) as ids(order_id);

create temp table order_facts as
with placed as (
    select
        order_id,
        history_start()
        + to_seconds(floor((order_id - 1 + rnd(order_id, 'ordered')) * seconds_per_order())::bigint)
            as ordered_at
    from order_ids
)

select
    order_id,
    1 + pick(order_id, 'customer', getvariable('n_customers')) as customer_id,
    (enum_range(null::order_channel)::order_channel[])[1 + pick(order_id, 'channel', 3)] as channel,
    ordered_at,
    rnd(order_id, 'cancelled') < 0.06 as is_cancelled,
    ordered_at + to_seconds(3600 + pick(order_id, 'cancelled_at', 86400 * 2)) as cancelled_at,
    -- The warehouse prints the label 4 to 64 hours after the order ...
    ordered_at + to_seconds(3600 * (4 + pick(order_id, 'pick_pack', 60))) as labelled_at,
    -- ... and the carrier picks the parcel up two hours later.
    ordered_at + to_seconds(3600 * (6 + pick(order_id, 'pick_pack', 60))) as shipped_at,
    -- Transit days: most parcels arrive within the promise, a long tail does not.
    1 + pick(order_id, 'transit', 4) + (case when rnd(order_id, 'delayed') < 0.2 then
        2 + pick(order_id, 'delay', 5) else 0 end) as transit_days
from placed
where ordered_at <= export_to();

create view orders.orders as
with versions as (
    -- Checkout writes the order when it is placed, and again each time its status moves on.
    select *, 'placed'::order_status as status, ordered_at as updated_at from order_facts
    union all
    select *, 'cancelled'::order_status, cancelled_at from order_facts where is_cancelled
    union all
    select *, 'shipped'::order_status, shipped_at from order_facts where not is_cancelled
    union all
    select
        *, 'delivered'::order_status,
        shipped_at + to_seconds(86400 * (transit_days - 1) + 3600 * (8 + pick(order_id, 'drop', 10)))
    from order_facts
    where not is_cancelled
),

shaped as (
    select
        order_id,
        customer_id,
        channel,
        status,
        case when rnd(order_id, 'coupon_null') < 0.8 then null
            else (enum_range(null::coupon_code)::coupon_code[])[1 + pick(order_id, 'coupon', 4)]
        end as coupon_code,
        ordered_at,
        updated_at,
        export_to() as exported_at
    from versions
    where in_export(updated_at)
)

select * from shaped
union all
select * from shaped where rnd(hash(order_id, status), 'redelivered') < 0.02;

-- Lines are written with the order, and priced with the list price valid at that moment.
-- The price list is one row: each product's prices by validity, indexed by product id (ids
-- run from 1 and every product has a price). Looking a price up there keeps the lines in
-- order, which a join would not, so files stay reproducible; and it is twice as fast as an
-- as-of join followed by a sort.
create temp table price_book as
select list(prices order by product_id) as by_product
from (
    select
        product_id,
        list({'valid_from': valid_from, 'list_price': list_price} order by valid_from) as prices
    from (select distinct product_id, list_price, valid_from from catalog.product_prices)
    group by product_id
);

create temp table priced_lines as
with lines as (
    select
        order_id * 10 + line_no as order_line_id,
        order_id,
        line_no,
        1 + pick(order_id * 10 + line_no, 'product', getvariable('n_products')) as product_id,
        1 + pick(order_id * 10 + line_no, 'quantity', 3) as quantity,
        ordered_at,
        is_cancelled
    from (
        select *, unnest(range(1, 2 + pick(order_id, 'lines', 4))) as line_no
        from order_facts
        -- Payments of orders placed just before the window are still to come.
        where ordered_at > export_from() - interval 1 day
    )
),

priced as (
    select
        lines.*,
        list_filter(
            price_book.by_product[lines.product_id], lambda p: p.valid_from <= lines.ordered_at
        )[-1].list_price as unit_price
    from lines
    cross join price_book
)

select
    *,
    case when rnd(order_line_id, 'discount') < 0.85 then null
        else round(unit_price * quantity * 0.1, 2)::decimal(18, 2)
    end as discount_amount
from priced
-- A product not yet on sale when the order was placed has no price: no such line.
where unit_price is not null;

create view orders.order_lines as
with shaped as (
    select
        order_line_id,
        order_id,
        line_no,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        export_to() as exported_at
    from priced_lines
    where in_export(ordered_at)
)

select * from shaped
union all
select * from shaped where rnd(order_line_id, 'redelivered') < 0.02;

create view orders.payments as
with totals as (
    select
        order_id,
        ordered_at,
        is_cancelled,
        sum(unit_price * quantity - coalesce(discount_amount, 0)) as amount
    from priced_lines
    group by all
    order by order_id
),

attempts as (
    -- A few first attempts are declined and retried; cancelled orders are refunded.
    select order_id, ordered_at, amount, 1 as attempt_no, 'failed'::payment_status as status
    from totals
    where rnd(order_id, 'declined') < 0.05
    union all
    select
        order_id, ordered_at, amount, 2,
        case when is_cancelled then 'refunded' else 'succeeded' end::payment_status
    from totals
),

shaped as (
    select
        order_id * 10 + attempt_no as payment_id,
        order_id,
        case when rnd(order_id, 'method_null') < 0.03 then null
            else (enum_range(null::payment_method)::payment_method[])[1 + pick(order_id, 'method', 4)]
        end as payment_method,
        status,
        amount::decimal(18, 2) as amount,
        ordered_at + to_seconds(30 * attempt_no + pick(order_id, 'paid', 600)) as paid_at,
        export_to() as exported_at
    from attempts
)

select * from shaped
where in_export(paid_at)
union all
select * from shaped
where in_export(paid_at) and rnd(payment_id, 'redelivered') < 0.02;
