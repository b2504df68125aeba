{{ config(materialized='incremental', unique_key='delivery_event_id') }}

with source as (
    select * from {{ source('carrier', 'delivery_events') }}
    {{ shared_macros.only_new_exports() }}
),

renamed as (
    select distinct
        {{ dbt.cast('event_id', dbt.type_bigint()) }} as delivery_event_id,
        {{ dbt.cast('shipment_id', dbt.type_bigint()) }} as shipment_id,
        {{ shared_macros.normalize_text('event_type') }} as event_type,
        {{ dbt.cast('event_at', dbt.type_timestamp()) }} as event_at,
        {{ dbt.cast('exported_at', dbt.type_timestamp()) }} as exported_at
    from source
),

-- An event re-delivered by a later export replaces the earlier one.
final as (
    {{ shared_macros.latest_per_key('renamed', 'delivery_event_id', 'exported_at') }}
)

select * from final
