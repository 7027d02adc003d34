-- Per rating event: the average and count of the user's ratings over the
-- 365 days up to and including that event.
{{ config(materialized='table') }}
SELECT
  user_id,
  rating_timestamp,
  AVG(rating) OVER yr AS avg_yr_user_rating,
  COUNT(rating) OVER yr AS count_yr_user_rating
FROM {{ source('ratings_source') }}
WINDOW yr AS (
  PARTITION BY user_id ORDER BY rating_timestamp
  RANGE BETWEEN INTERVAL 365 DAYS PRECEDING AND CURRENT ROW)
