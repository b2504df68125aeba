with source as (
    select * from {{ source('pim', 'product_prices') }}
),

renamed as (
    select
        {{ dbt.cast('price_id', dbt.type_bigint()) }} as price_id,
        {{ dbt.cast('product_id', dbt.type_bigint()) }} as product_id,
        {{ shared_macros.money('list_price') }} as list_price,
        upper(trim(currency_code)) as currency_code,
        {{ dbt.cast('valid_from', dbt.type_timestamp()) }} as valid_from
    from source
),

final as (
    select distinct * from renamed
)

select * from final
