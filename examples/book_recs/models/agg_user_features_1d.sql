-- Per rating event: the average and count of the user's ratings over the
-- day up to and including that event. The stream path keeps the same
-- aggregate fresh online.
--
-- Incremental: a later `larder run` recomputes only the events newer than
-- the newest one built, minus a 3-day lookback so that ratings arriving late
-- are taken in; it reads one more day of input before that, which the
-- windows of the recomputed events need, and merges on the event's key so
-- that recomputed events replace their old rows.
{{ config(materialized='incremental',
          unique_key=['user_id', 'rating_timestamp'],
          event_time='rating_timestamp',
          lookback='3d') }}
WITH ratings AS (
  SELECT user_id, rating_timestamp, rating
  FROM {{ source('ratings_source') }}
  {% if is_incremental() %}
  WHERE rating_timestamp >= {{ incremental_lower_bound() }} - INTERVAL 1 DAY
  {% endif %}
),
windowed AS (
  SELECT
    user_id,
    rating_timestamp,
    AVG(rating) OVER d AS avg_day_user_rating,
    COUNT(rating) OVER d AS count_day_user_rating
  FROM ratings
  WINDOW d AS (
    PARTITION BY user_id ORDER BY rating_timestamp
    RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW)
)
SELECT * FROM windowed
{% if is_incremental() %}
WHERE rating_timestamp > {{ incremental_lower_bound() }}
{% endif %}
