-- Per rating event: the average and count of ratings of every book in the
-- rated book's category over the 365 days before that event, keyed by the
-- rated book. The window ends just before the event, as the aggregation
-- views' windows do, so a rating never feeds its own training row.
--
-- Written for Spark. A sliding RANGE frame costs Spark the rows of the frame
-- for every row (it re-aggregates the frame as it moves), which for a large
-- category is quadratic. Running totals cost one pass: for each rating at
-- time t, the category's sum and count of ratings before t, minus those
-- before t - 365 days, read at a probe row placed at t - 365 days. The
-- result equals the DuckDB model's window, [t - 365 days, t), exactly: the
-- sums are of integers, divided once in double arithmetic. A rating is
-- identified by (user_id, isbn, rating_timestamp).
{{ config(materialized='table', engine='spark') }}
WITH rated AS (
  SELECT r.user_id, r.isbn, r.rating_timestamp, r.rating, b.category,
         unix_micros(r.rating_timestamp) AS t
  FROM {{ source('ratings_source') }} AS r
  JOIN {{ source('books_source') }} AS b ON b.isbn = r.isbn
),
marks AS (
  -- Every rating at its own time (is_end), and a probe 365 days earlier.
  SELECT user_id, isbn, rating_timestamp, category, t, rating, TRUE AS is_end FROM rated
  UNION ALL
  SELECT user_id, isbn, rating_timestamp, category, t - 31536000000000, NULL, FALSE FROM rated
),
totals AS (
  SELECT user_id, isbn, rating_timestamp, is_end,
         coalesce(SUM(rating) OVER before, 0) AS s,
         COUNT(rating) OVER before AS c
  FROM marks
  WINDOW before AS (PARTITION BY category ORDER BY t
                    RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
spans AS (
  SELECT user_id, isbn, rating_timestamp,
         SUM(CASE WHEN is_end THEN s ELSE -s END) AS s,
         SUM(CASE WHEN is_end THEN c ELSE -c END) AS c
  FROM totals
  GROUP BY user_id, isbn, rating_timestamp
)
SELECT
  r.isbn,
  r.rating_timestamp,
  CASE WHEN p.c > 0 THEN CAST(p.s AS DOUBLE) / p.c END AS avg_yr_category_rating,
  p.c AS count_yr_category_rating
FROM rated AS r
JOIN spans AS p
  ON p.user_id = r.user_id AND p.isbn = r.isbn AND p.rating_timestamp = r.rating_timestamp
