with order_lines as (
    select * from {{ ref('int_order_lines_enriched') }}
),

orders_by_group as (
    -- One row per order and group, so an order counts once per region and category.
    select
        region,
        category_name,
        department,
        order_id,
        customer_id,
        is_delivered,
        is_delivered_on_time,
        sum(quantity) as items,
        sum(net_amount_usd) as revenue_usd
    from order_lines
    group by
        region,
        category_name,
        department,
        order_id,
        customer_id,
        is_delivered,
        is_delivered_on_time
),

final as (
    select
        region,
        category_name,
        department,
        {{ dbt.cast('count(*)', dbt.type_bigint()) }} as order_count,
        {{ dbt.cast('count(distinct customer_id)', dbt.type_bigint()) }} as customer_count,
        {{ dbt.cast('sum(items)', dbt.type_bigint()) }} as items_sold,
        {{ shared_macros.money('sum(revenue_usd)') }} as revenue_usd,
        {{ dbt.cast('sum(case when is_delivered then 1 else 0 end)', dbt.type_bigint()) }}
            as delivered_order_count,
        {{ dbt.cast('sum(case when is_delivered_on_time then 1 else 0 end)', dbt.type_bigint()) }}
            as on_time_order_count,
        {{ dbt.cast(
            'round(sum(case when is_delivered_on_time then 1 else 0 end) * 1.0'
            ~ ' / nullif(sum(case when is_delivered then 1 else 0 end), 0), 4)',
            'decimal(5, 4)') }} as on_time_delivery_rate
    from orders_by_group
    group by region, category_name, department
)

select * from final
