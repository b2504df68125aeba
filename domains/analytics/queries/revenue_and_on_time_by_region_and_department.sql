-- Revenue and on-time delivery rate by customer region and product department, from the
-- analytics domain's published product. Run with:
--   mesh query --file domains/analytics/queries/revenue_and_on_time_by_region_and_department.sql
select
    region,
    department,
    sum(order_count) as orders,
    sum(revenue_usd) as revenue_usd,
    round(sum(on_time_order_count) / nullif(sum(delivered_order_count), 0), 3) as on_time_rate
from analytics.main.sales_by_region_and_category_v1
group by region, department
order by region, revenue_usd desc
