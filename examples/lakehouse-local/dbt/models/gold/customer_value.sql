-- Gold: what the CRM gets, one row per customer over every loaded day.
select customer_id,
       count(*) as orders,
       cast(sum(amount) as decimal(12, 2)) as revenue,
       max(order_ts) as last_order,
       case when sum(amount) >= 2000 then 'vip'
            when sum(amount) >= 800 then 'regular'
            else 'occasional' end as segment
from {{ ref('orders') }}
group by customer_id
