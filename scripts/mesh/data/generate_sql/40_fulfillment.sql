-- Warehouse management and carrier tracking exports of the fulfillment domain.
create schema fulfillment;
create type carrier as enum ('DHL', 'UPS', 'FedEx', 'PostNL', 'Yamato');
create type service_level as enum ('standard', 'express');
create type delivery_event_type as enum (
    'label_created', 'picked_up', 'out_for_delivery', 'delivered'
);

-- The warehouse creates a shipment when it prints the label; cancelled orders never ship.
create view fulfillment.shipments as
select
    order_id as shipment_id,
    order_id,
    case when rnd(order_id, 'carrier_null') < 0.04 then null
        else (enum_range(null::carrier)::carrier[])[1 + pick(order_id, 'carrier', 5)]
    end as carrier,
    (enum_range(null::service_level)::service_level[])[1 + (rnd(order_id, 'express') < 0.2)::int] as service_level,
    ordered_at::date + 5 as promised_delivery_date,
    labelled_at as created_at,
    export_to() as exported_at
from order_facts
where not is_cancelled and in_export(labelled_at);

create view fulfillment.delivery_events as
with events as (
    select order_id as shipment_id, 1 as event_no, 'label_created'::delivery_event_type as event_type,
        labelled_at as event_at
    from order_facts
    where not is_cancelled
    union all
    select order_id, 2, 'picked_up'::delivery_event_type, shipped_at from order_facts where not is_cancelled
    union all
    select order_id, 3, 'out_for_delivery'::delivery_event_type,
        shipped_at + to_seconds(86400 * (transit_days - 1) + 3600 * 6)
    from order_facts
    where not is_cancelled
    union all
    -- The same instant the checkout system records as the order's delivery.
    select order_id, 4, 'delivered'::delivery_event_type,
        shipped_at + to_seconds(86400 * (transit_days - 1) + 3600 * (8 + pick(order_id, 'drop', 10)))
    from order_facts
    where not is_cancelled
),

shaped as (
    select
        shipment_id * 10 + event_no as event_id,
        shipment_id,
        event_type,
        event_at,
        export_to() as exported_at
    from events
    where in_export(event_at)
)

select * from shaped
union all
select * from shaped where rnd(event_id, 'redelivered') < 0.03;
