{{ config(tags=['quality-gate']) }}
-- The day reached Silver at all.
select 1 as missing
where not exists (select 1 from {{ ref('orders') }} where load_date = date'{{ var("run_date")[:10] }}')
