-- Input port: customers v1 from the customers domain.
with customers as (
    select * from {{ ref('customers', 'customers', v=1) }}
),

final as (
    select
        customer_id,
        region,
        country_code,
        customer_segment
    from customers
)

select * from final
