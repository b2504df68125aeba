with product_prices as (
    select * from {{ ref('stg_pim__product_prices') }}
),

with_validity as (
    select
        price_id,
        product_id,
        list_price,
        currency_code,
        valid_from,
        lead(valid_from) over (
            partition by product_id
            order by valid_from, price_id
        ) as valid_to
    from product_prices
),

final as (
    select
        price_id,
        product_id,
        list_price,
        currency_code,
        valid_from,
        valid_to,
        valid_to is null as is_current_price
    from with_validity
)

select * from final
