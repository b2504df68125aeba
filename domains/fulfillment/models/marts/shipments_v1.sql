{{ config(materialized='incremental', unique_key='shipment_id') }}

with shipments as (
    select * from {{ ref('int_shipments_tracked') }}
    -- Incremental: only the shipments the new exports changed replace their rows.
    {% if is_incremental() %} where {{ shared_macros.is_new_export() }} {% endif %}
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
