-- Input port: shipments v1 from the fulfillment domain.
with shipments as (
    select * from {{ ref('fulfillment', 'shipments', v=1) }}
),

final as (
    select
        shipment_id,
        order_id,
        delivery_status,
        is_on_time
    from shipments
)

select * from final
