-- Warehouse management and carrier tracking exports of the fulfillment domain.
create schema fulfillment;

create temp table shipment_facts as
select
    order_id as shipment_id,
    order_id,
    final_status,
    ordered_at + to_seconds(3600 * (4 + pick(order_id, 'pick_pack', 60))) as shipped_at,
    ordered_at::date + 5 as promised_delivery_date,
    -- Transit days: most parcels arrive within the promise, a long tail does not.
    1 + pick(order_id, 'transit', 4) + (case when rnd(order_id, 'delayed') < 0.2 then
        2 + pick(order_id, 'delay', 5) else 0 end) as transit_days
from order_facts
where final_status in ('shipped', 'delivered');

create table fulfillment.shipments as
select
    shipment_id,
    order_id,
    case when rnd(shipment_id, 'carrier_null') < 0.04 then null
        else list_extract(['DHL', 'UPS', 'FedEx', 'PostNL', 'Yamato'], 1 + pick(shipment_id, 'carrier', 5))
    end as carrier,
    list_extract(['standard', 'express'], 1 + (rnd(shipment_id, 'express') < 0.2)::int) as service_level,
    strftime(promised_delivery_date, '%Y-%m-%d') as promised_delivery_date,
    strftime(shipped_at, '%Y-%m-%d %H:%M:%S') as created_at
from shipment_facts;

create table fulfillment.delivery_events as
with events as (
    select shipment_id, 1 as event_no, 'label_created' as event_type,
        shipped_at - interval 2 hour as event_at
    from shipment_facts
    union all
    select shipment_id, 2, 'picked_up', shipped_at from shipment_facts
    union all
    select shipment_id, 3, 'out_for_delivery',
        shipped_at + to_seconds(86400 * (transit_days - 1) + 3600 * 6)
    from shipment_facts
    where final_status = 'delivered'
    union all
    select shipment_id, 4, 'delivered',
        shipped_at + to_seconds(86400 * (transit_days - 1) + 3600 * (8 + pick(shipment_id, 'drop', 10)))
    from shipment_facts
    where final_status = 'delivered'
),

shaped as (
    select
        shipment_id * 10 + event_no as event_id,
        shipment_id,
        event_type,
        strftime(event_at, '%Y-%m-%d %H:%M:%S') as event_at
    from events
)

select * from shaped
union all
select * from shaped where rnd(event_id, 'redelivered') < 0.03;
