-- Per rating event: the average and count of ratings of every book in the
-- rated book's category over the 365 days before that event, keyed by the
-- rated book. The window ends just before the event, as the aggregation
-- views' windows do, so a rating never feeds its own training row. The
-- average divides the exact sum in double arithmetic, which every engine
-- does alike (DuckDB's AVG of integers divides in extended precision).
{{ config(materialized='table') }}
SELECT
  r.isbn,
  r.rating_timestamp,
  CAST(SUM(r.rating) OVER yr AS DOUBLE) / COUNT(r.rating) OVER yr AS avg_yr_category_rating,
  COUNT(r.rating) OVER yr AS count_yr_category_rating
FROM {{ source('ratings_source') }} AS r
JOIN {{ source('books_source') }} AS b ON b.isbn = r.isbn
WINDOW yr AS (
  PARTITION BY b.category ORDER BY r.rating_timestamp
  RANGE BETWEEN INTERVAL 365 DAYS PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING)
