-- Per rating event: the average and count of the user's ratings over the
-- day up to and including that event. The stream path keeps the same
-- aggregate fresh online.
{{ config(materialized='table') }}
SELECT
  user_id,
  rating_timestamp,
  AVG(rating) OVER d AS avg_day_user_rating,
  COUNT(rating) OVER d AS count_day_user_rating
FROM {{ source('ratings_source') }}
WINDOW d AS (
  PARTITION BY user_id ORDER BY rating_timestamp
  RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW)
