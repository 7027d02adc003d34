-- Per rating event: the average and count of the book's ratings over the
-- 365 days up to and including that event.
{{ config(materialized='table') }}
SELECT
  isbn,
  rating_timestamp,
  AVG(rating) OVER yr AS avg_yr_book_rating,
  COUNT(rating) OVER yr AS count_yr_book_rating
FROM {{ source('ratings_source') }}
WINDOW yr AS (
  PARTITION BY isbn ORDER BY rating_timestamp
  RANGE BETWEEN INTERVAL 365 DAYS PRECEDING AND CURRENT ROW)
