{{ config(tags=['quality-gate']) }}
-- Gold's revenue is Silver's, to the cent.
select g.revenue, s.amount
from (select sum(revenue) as revenue from {{ ref('customer_value') }}) g
cross join (select sum(amount) as amount from {{ ref('orders') }}) s
where abs(g.revenue - s.amount) > 0.005
