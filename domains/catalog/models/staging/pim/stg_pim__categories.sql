with source as (
    select * from {{ source('pim', 'categories') }}
),

renamed as (
    select
        {{ dbt.cast('category_id', dbt.type_bigint()) }} as category_id,
        nullif(trim(category_name), '') as category_name,
        nullif(trim(department), '') as department
    from source
),

final as (
    select distinct * from renamed
)

select * from final
