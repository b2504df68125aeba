with shipments as (
    select * from {{ ref('int_shipments_tracked') }}
),

final as (
    select
        shipment_id,
        order_id,
        coalesce(carrier, 'unknown') as carrier,
        service_level,
        shipped_at,
        promised_delivery_date,
        delivered_at,
        delivery_status,
        is_on_time,
        {{ dbt.cast('order_to_delivery_days', 'decimal(8, 2)') }} as order_to_delivery_days
    from shipments
)

select * from final
