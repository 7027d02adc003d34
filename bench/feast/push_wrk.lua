-- wrk script: POST /push of ROWS rows per request to the push source
-- user_ratings_push (view agg_user_features_1d), online, for Feast's and
-- Larder's feature servers alike. User ids come from the CSV file named by
-- PAIRS_FILE (header user_id,isbn,...).
--
-- Every request carries a timestamp later than all before it from the same
-- thread (up to 8 threads interleave theirs), so that no row is an older duplicate
-- that a store could skip: each pushed row is a real write.
local pairs_file = os.getenv("PAIRS_FILE")
local rows = tonumber(os.getenv("ROWS") or "100")
local count = 1000
local heads, tails = {}, {}
local sent = 0
-- Timestamps start at now and step by microseconds: a push may not carry an
-- event time far in the future (Larder refuses more than a day ahead).
local base = os.time()

local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("thread_number", thread_number)
end

function init()
  local users = {}
  for line in io.lines(pairs_file) do
    local user = line:match("^(%d+),")
    if user then users[#users + 1] = user end
  end
  math.randomseed(os.time() * 100 + (thread_number or 0))
  -- The parts of each body around its timestamps, built once.
  for r = 1, count do
    local u, avg, cnt = {}, {}, {}
    for i = 1, rows do
      u[i] = users[math.random(#users)]
      avg[i] = string.format("%.2f", math.random() * 10)
      cnt[i] = tostring(math.random(1, 20))
    end
    heads[r] = '{"push_source_name":"user_ratings_push","to":"online","df":{"user_id":[' ..
        table.concat(u, ",") .. '],"avg_day_user_rating":[' .. table.concat(avg, ",") ..
        '],"count_day_user_rating":[' .. table.concat(cnt, ",") .. '],"rating_timestamp":['
    tails[r] = ']}}'
  end
end

function request()
  sent = sent + 1
  local micros = sent * 8 + (thread_number or 1)
  local seconds = math.floor(micros / 1000000)
  local ts = '"' .. os.date("!%Y-%m-%dT%H:%M:%S", base + seconds) ..
      string.format(".%06d", micros - seconds * 1000000) .. '"'
  local r = math.random(count)
  local body = heads[r] .. string.rep(ts .. ",", rows - 1) .. ts .. tails[r]
  return wrk.format("POST", "/push", {["Content-Type"] = "application/json"}, body)
end
