{{ config(materialized='incremental', unique_key='shipment_id') }}

with

{% if is_incremental() %}
    -- Only new shipments and shipments with new tracking events: the others keep their rows.
    touched as (
        {{ shared_macros.touched_keys('shipment_id', [
            ref('stg_wms__shipments'), ref('stg_carrier__delivery_events')
        ]) }}
    ),
{% endif %}

shipments as (
    select * from {{ ref('stg_wms__shipments') }}
    {% if is_incremental() %}
        where shipment_id in (select touched.shipment_id from touched)
    {% endif %}
),

delivery_events as (
    select * from {{ ref('stg_carrier__delivery_events') }}
    {% if is_incremental() %}
        where shipment_id in (select touched.shipment_id from touched)
    {% endif %}
),

orders as (
    select * from {{ ref('stg_orders__orders') }}
),

milestones as (
    select
        shipment_id,
        min(case when event_type = 'picked_up' then event_at end) as picked_up_at,
        min(case when event_type = 'delivered' then event_at end) as delivered_at,
        count(*) as tracking_events,
        max(exported_at) as exported_at
    from delivery_events
    group by shipment_id
),

final as (
    select
        shipments.shipment_id,
        shipments.order_id,
        shipments.carrier,
        shipments.service_level,
        orders.ordered_at,
        coalesce(milestones.picked_up_at, shipments.created_at) as shipped_at,
        milestones.delivered_at,
        shipments.promised_delivery_date,
        coalesce(milestones.tracking_events, 0) as tracking_events,
        case when milestones.delivered_at is not null then 'delivered' else 'in_transit' end
            as delivery_status,
        -- On time: delivered on or before the promised date. Unknown while in transit.
        case
            when milestones.delivered_at is null then null
            else
                {{ dbt.cast('milestones.delivered_at', 'date') }}
                <= shipments.promised_delivery_date
        end as is_on_time,
        case
            when milestones.delivered_at is null then null
            -- hours / 24 as a double on every engine (Spark makes `/ 24.0` a decimal)
            else
                {{ dbt.datediff('orders.ordered_at', 'milestones.delivered_at', 'hour') }}
                / {{ dbt.cast('24', 'double') }}
        end as order_to_delivery_days,
        -- The newest export that changed this row: what consumers built on it look for.
        greatest(shipments.exported_at, milestones.exported_at) as exported_at
    from shipments
    inner join orders on shipments.order_id = orders.order_id
    left join milestones on shipments.shipment_id = milestones.shipment_id
)

select * from final
