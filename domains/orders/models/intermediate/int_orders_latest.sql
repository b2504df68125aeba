{{ config(materialized='incremental', unique_key='order_id') }}

with order_versions as (
    select * from {{ ref('stg_checkout__orders') }}
    {% if is_incremental() %}
        -- Only orders with a new status change: the others' latest version is unchanged.
        where order_id in (
            select new_versions.order_id from {{ ref('stg_checkout__orders') }} as new_versions
            where {{ shared_macros.is_new_export('new_versions.exported_at') }}
        )
    {% endif %}
),

final as (
    {{ shared_macros.latest_per_key('order_versions', 'order_id', 'updated_at') }}
)

select * from final
