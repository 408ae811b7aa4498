-- One row per loaded day: how many rows Bronze got, and how many of them Silver rejected
-- (unusable values) or dropped as repeats. The quality gate reads it.
select load_date,
       count(*) as rows,
       sum(case when customer_id is null or try_cast(amount as decimal(12, 2)) is null
                  or try_cast(amount as decimal(12, 2)) <= 0 or to_timestamp(order_ts) is null
                then 1 else 0 end) as rejected,
       count(*) - count(distinct order_id) as duplicates
from lake.bronze.orders
group by load_date
