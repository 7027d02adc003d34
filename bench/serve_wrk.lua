-- wrk script for `larder serve`: POST /get-online-features for the feature
-- service FEATURE_SERVICE (default model_v4) with PAIRS (user_id, isbn)
-- pairs per request, drawn at random from the CSV file named by the
-- PAIRS_FILE environment variable (header user_id,isbn,...).
--
-- Each wrk thread builds BODIES (default 10,000) whole requests up front,
-- each of PAIRS pairs drawn at random, and sends one picked at random per
-- request, so that the client spends its time sending, not building JSON in
-- Lua. There is no per-response callback either (it makes wrk parse every
-- response through Lua); wrk's summary counts non-2xx answers itself.
local pairs_file = os.getenv("PAIRS_FILE")
local per_request = tonumber(os.getenv("PAIRS") or "1")
local service = os.getenv("FEATURE_SERVICE") or "model_v4"
local count = tonumber(os.getenv("BODIES") or "10000")
local requests = {}

local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("thread_number", thread_number)
end

function init()
  local users, books = {}, {}
  for line in io.lines(pairs_file) do
    local user, isbn = line:match("^(%d+),([^,]+)")
    if user then
      users[#users + 1] = user
      books[#books + 1] = isbn
    end
  end
  math.randomseed(os.time() * 100 + (thread_number or 0))
  for r = 1, count do
    local u, b = {}, {}
    for i = 1, per_request do
      local k = math.random(#users)
      u[i] = users[k]
      b[i] = '"' .. books[k] .. '"'
    end
    local body = '{"feature_service":"' .. service .. '","entities":{"user_id":[' ..
        table.concat(u, ",") .. '],"isbn":[' .. table.concat(b, ",") .. ']}}'
    requests[r] = wrk.format("POST", "/get-online-features",
                             {["Content-Type"] = "application/json"}, body)
  end
end

function request()
  return requests[math.random(count)]
end

-- DELAY_MS: each connection waits this long after a response before its
-- next request, which caps the rate near connections * 1000 / DELAY_MS per
-- second (an open-loop-ish mode for latency at a given load; wrk's timer
-- has a 1 ms resolution).
local delay_ms = tonumber(os.getenv("DELAY_MS") or "")
if delay_ms then
  function delay()
    return delay_ms
  end
end

function done(summary)
  io.write(string.format("non-2xx responses: %d of %d\n", summary.errors.status, summary.requests))
end
