with source as (
    select * from {{ source('wms', 'shipments') }}
),

renamed as (
    select distinct
        {{ dbt.cast('shipment_id', dbt.type_bigint()) }} as shipment_id,
        {{ dbt.cast('order_id', dbt.type_bigint()) }} as order_id,
        nullif(trim(carrier), '') as carrier,
        {{ shared_macros.normalize_text('service_level') }} as service_level,
        {{ dbt.cast('promised_delivery_date', 'date') }} as promised_delivery_date,
        {{ dbt.cast('created_at', dbt.type_timestamp()) }} as created_at
    from source
)

select * from renamed
