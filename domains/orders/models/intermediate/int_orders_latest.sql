with order_versions as (
    select * from {{ ref('stg_checkout__orders') }}
),

final as (
    {{ shared_macros.latest_per_key('order_versions', 'order_id', 'updated_at') }}
)

select * from final
