with source as (
    select * from {{ source('crm', 'customers') }}
),

renamed as (
    select distinct
        {{ dbt.cast('customer_id', dbt.type_bigint()) }} as customer_id,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        {{ shared_macros.normalize_text('email') }} as email,
        nullif(trim(phone), '') as phone,
        nullif(trim(street_address), '') as street_address,
        nullif(trim(city), '') as city,
        nullif(trim(region), '') as region,
        upper(trim(country_code)) as country_code,
        {{ shared_macros.normalize_text('segment') }} as customer_segment,
        {{ dbt.cast('signed_up_at', dbt.type_timestamp()) }} as signed_up_at,
        {{ dbt.cast('updated_at', dbt.type_timestamp()) }} as updated_at
    from source
)

select * from renamed
