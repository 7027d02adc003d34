-- Per rating event: the average and count of ratings of every book in the
-- rated book's category over the 365 days up to and including that event,
-- keyed by the rated book.
{{ config(materialized='table') }}
SELECT
  r.isbn,
  r.rating_timestamp,
  AVG(r.rating) OVER yr AS avg_yr_category_rating,
  COUNT(r.rating) OVER yr AS count_yr_category_rating
FROM {{ source('ratings_source') }} AS r
JOIN {{ source('books_source') }} AS b ON b.isbn = r.isbn
WINDOW yr AS (
  PARTITION BY b.category ORDER BY r.rating_timestamp
  RANGE BETWEEN INTERVAL 365 DAYS PRECEDING AND CURRENT ROW)
