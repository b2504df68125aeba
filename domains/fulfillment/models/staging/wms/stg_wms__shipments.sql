{{ config(materialized='incremental', unique_key='shipment_id') }}

with source as (
    select * from {{ source('wms', 'shipments') }}
    {{ shared_macros.only_new_exports() }}
),

renamed as (
    select distinct
        {{ dbt.cast('shipment_id', dbt.type_bigint()) }} as shipment_id,
        {{ dbt.cast('order_id', dbt.type_bigint()) }} as order_id,
        nullif(trim(carrier), '') as carrier,
        {{ shared_macros.normalize_text('service_level') }} as service_level,
        {{ dbt.cast('promised_delivery_date', 'date') }} as promised_delivery_date,
        {{ dbt.cast('created_at', dbt.type_timestamp()) }} as created_at,
        {{ dbt.cast('exported_at', dbt.type_timestamp()) }} as exported_at
    from source
),

-- A shipment re-delivered by a later export replaces the earlier one.
final as (
    {{ shared_macros.latest_per_key('renamed', 'shipment_id', 'exported_at') }}
)

select * from final
