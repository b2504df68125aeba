with source as (
    select * from {{ source('pim', 'products') }}
),

renamed as (
    select
        {{ dbt.cast('product_id', dbt.type_bigint()) }} as product_id,
        upper(trim(sku)) as sku,
        nullif(trim(product_name), '') as product_name,
        {{ dbt.cast('category_id', dbt.type_bigint()) }} as category_id,
        nullif(trim(description), '') as description,
        case upper(trim(active_flag))
            when 'Y' then true
            when 'N' then false
        end as is_active,
        {{ dbt.cast('created_at', dbt.type_timestamp()) }} as created_at
    from source
),

final as (
    select distinct * from renamed
)

select * from final
