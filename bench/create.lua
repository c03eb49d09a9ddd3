-- wrk script for bench/fig5-create: POST a body with a unique name per request.
--   BENCH_BODY    the JSON body, with @NAME@ where the name goes
--   BENCH_PREFIX  name prefix (unique per run)
--   BENCH_TOKEN   optional bearer token (kubesim)
-- Run with -t1 so one Lua state numbers every request.
local counter = 0
local body = os.getenv("BENCH_BODY")
local prefix = os.getenv("BENCH_PREFIX")
local token = os.getenv("BENCH_TOKEN")
local headers = { ["Content-Type"] = "application/json" }
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

request = function()
  counter = counter + 1
  local name = prefix .. "-" .. counter
  local b = string.gsub(body, "@NAME@", name)
  return wrk.format("POST", nil, headers, b)
end

local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

codes = {}
response = function(status, hdrs, resp)
  codes[status] = (codes[status] or 0) + 1
end

done = function(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("codes")) do
      total[k] = (total[k] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(total) do
    parts[#parts + 1] = k .. "=" .. v
  end
  table.sort(parts)
  io.write("status codes: " .. table.concat(parts, " ") .. "\n")
end
