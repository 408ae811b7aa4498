-- Silver: Bronze's rows typed, the bad ones dropped (no customer, an amount that is not a positive
-- number, an unreadable time), each order once (the latest load wins).
with typed as (
  select order_id, customer_id, to_timestamp(order_ts) as order_ts,
         try_cast(amount as decimal(12, 2)) as amount, currency, load_date
  from lake.bronze.orders
), ranked as (
  select *, row_number() over (partition by order_id order by load_date desc) as n
  from typed
  where customer_id is not null and amount > 0 and order_ts is not null
)
select order_id, customer_id, order_ts, amount, currency, load_date from ranked where n = 1
