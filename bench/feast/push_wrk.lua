-- wrk script: POST /push of ROWS rating rows (user_id, rating,
-- rating_timestamp) per request to the push source named by PUSH_SOURCE,
-- online, for Feast's and Larder's feature servers alike. bench/feast/harness.py
-- points it at a push source of its own whose one view is a plain view, which
-- both systems compute. User ids come from the CSV file named by PAIRS_FILE
-- (header user_id,isbn,...).
--
-- Every request carries a timestamp later than all before it from the same
-- thread (up to 8 threads interleave theirs), so that no row is an older duplicate
-- that a store could skip: each pushed row is a real write.
local pairs_file = os.getenv("PAIRS_FILE")
local rows = tonumber(os.getenv("ROWS") or "100")
local push_source = os.getenv("PUSH_SOURCE")
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
    local u, rating = {}, {}
    for i = 1, rows do
      u[i] = users[math.random(#users)]
      rating[i] = tostring(math.random(0, 10))
    end
    heads[r] = '{"push_source_name":"' .. push_source .. '","to":"online","df":{"user_id":[' ..
        table.concat(u, ",") .. '],"rating":[' .. table.concat(rating, ",") ..
        '],"rating_timestamp":['
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
