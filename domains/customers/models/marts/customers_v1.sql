with customers as (
    select * from {{ ref('int_customers_latest') }}
),

final as (
    select
        customer_id,
        {{ shared_macros.hash_pii('email') }} as email_hash,
        city,
        region,
        country_code,
        coalesce(customer_segment, 'unknown') as customer_segment,
        signed_up_at,
        {{ dbt.cast(dbt.date_trunc('day', 'signed_up_at'), 'date') }} as signed_up_date,
        record_versions > 1 as has_record_updates,
        updated_at
    from customers
)

select * from final
