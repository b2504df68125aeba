with source as (
    select * from {{ source('carrier', 'delivery_events') }}
),

renamed as (
    select distinct
        {{ dbt.cast('event_id', dbt.type_bigint()) }} as delivery_event_id,
        {{ dbt.cast('shipment_id', dbt.type_bigint()) }} as shipment_id,
        {{ shared_macros.normalize_text('event_type') }} as event_type,
        {{ dbt.cast('event_at', dbt.type_timestamp()) }} as event_at
    from source
)

select * from renamed
