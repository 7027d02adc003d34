-- wrk script for `larder serve`: POST /get-online-features for model_v4 with
-- PAIRS (user_id, isbn) pairs per request, drawn at random from the CSV file
-- named by the PAIRS_FILE environment variable (header user_id,isbn,...).
local pairs_file = os.getenv("PAIRS_FILE")
local per_request = tonumber(os.getenv("PAIRS") or "1")
local users, books = {}, {}

for line in io.lines(pairs_file) do
  local user, isbn = line:match("^(%d+),([^,]+)")
  if user then
    users[#users + 1] = user
    books[#books + 1] = isbn
  end
end
math.randomseed(os.time())

request = function()
  local u, b = {}, {}
  for i = 1, per_request do
    local k = math.random(#users)
    u[i] = users[k]
    b[i] = '"' .. books[k] .. '"'
  end
  local body = '{"feature_service":"model_v4","entities":{"user_id":[' ..
      table.concat(u, ",") .. '],"isbn":[' .. table.concat(b, ",") .. ']}}'
  return wrk.format("POST", "/get-online-features",
                    {["Content-Type"] = "application/json"}, body)
end

-- Count non-200 answers so that a run of errors cannot pass for throughput.
local errors = 0
response = function(status)
  if status ~= 200 then errors = errors + 1 end
end
done = function(summary)
  io.write(string.format("non-2xx responses: %d of %d\n", summary.errors.status, summary.requests))
end
