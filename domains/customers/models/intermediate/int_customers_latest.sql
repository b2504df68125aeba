with customer_versions as (
    select * from {{ ref('stg_crm__customers') }}
),

latest as (
    {{ shared_macros.latest_per_key('customer_versions', 'customer_id', 'updated_at') }}
),

version_counts as (
    select
        customer_id,
        count(*) as record_versions
    from customer_versions
    group by customer_id
),

final as (
    select
        latest.*,
        version_counts.record_versions
    from latest
    inner join version_counts
        on latest.customer_id = version_counts.customer_id
)

select * from final
