-- A user's age bucketed by tens: 0-9 -> 0, ..., 90-99 -> 9, negative -> -1,
-- missing or 100 and over -> 10.
{{ config(materialized='table') }}
SELECT
  user_id,
  signup_date,
  CAST(CASE
    WHEN age IS NULL THEN 10
    WHEN age < 0 THEN -1
    WHEN age < 100 THEN age DIV 10
    ELSE 10
  END AS BIGINT) AS bucketed_age
FROM {{ source('users_source') }}
