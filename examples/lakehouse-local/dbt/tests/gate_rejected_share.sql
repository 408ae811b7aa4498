{{ config(tags=['quality-gate']) }}
-- The day's rejected and repeated rows stay under max_rejected_share of what landed.
select load_date, rows, rejected, duplicates
from {{ ref('load_quality') }}
where load_date = date'{{ var("run_date")[:10] }}'
  and rejected + duplicates > {{ var("max_rejected_share") }} * rows
