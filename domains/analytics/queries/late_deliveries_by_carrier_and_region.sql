-- Which carriers miss the promised delivery date, and where? Joins three domains' products
-- directly: fulfillment's shipments, orders' orders and customers' regions. Run with:
--   mesh query --file domains/analytics/queries/late_deliveries_by_carrier_and_region.sql
select
    shipments.carrier,
    customers.region,
    count(*) as delivered_shipments,
    sum(case when shipments.is_on_time then 0 else 1 end) as late_shipments,
    round(avg(case when shipments.is_on_time then 0.0 else 1.0 end), 3) as late_rate,
    round(avg(shipments.order_to_delivery_days), 1) as avg_days_to_deliver
from fulfillment.main.shipments_v1 as shipments
inner join orders.main.orders_v2 as orders on shipments.order_id = orders.order_id
inner join customers.main.customers_v1 as customers on orders.customer_id = customers.customer_id
where shipments.delivery_status = 'delivered'
group by shipments.carrier, customers.region
order by late_rate desc
limit 10
