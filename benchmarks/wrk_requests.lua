-- wrk script of benchmarks.http: requests from a file, counted by status.
--
--   wrk -tN ... -s benchmarks/wrk_requests.lua URL -- REQUESTS_FILE N [IDEMPOTENCY_PREFIX]
--
-- REQUESTS_FILE holds one request a line: METHOD <tab> PATH <tab> HEADERS <tab> BODY, HEADERS being
-- "Name: value" pairs separated by \31 (unit separator), BODY the exact bytes to send (no tab or newline).
-- Thread k of n takes lines k, k+n, k+2n, ... in turn, so threads do not replay each other's lines.
-- With IDEMPOTENCY_PREFIX every request gets "Idempotency-Key: PREFIX-<thread>-<count>", unique in the run.
-- Every answer is counted by status; done() prints one "wrk-status <status> <count>" line per status.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local requests = {}
local formatted = {}
local position = 0
local sent = 0
local prefix = nil
local stride = 1
statuses = {}

local function split(line, sep)
   local out, start = {}, 1
   while true do
      local i = string.find(line, sep, start, true)
      if not i then
         table.insert(out, string.sub(line, start))
         return out
      end
      table.insert(out, string.sub(line, start, i - 1))
      start = i + 1
   end
end

function init(args)
   stride = tonumber(args[2])  -- the number of threads
   prefix = args[3]
   local file = assert(io.open(args[1], "r"))
   for line in file:lines() do
      if line ~= "" then
         local f = split(line, "\t")
         local headers = {}
         if f[3] and f[3] ~= "" then
            for _, pair in ipairs(split(f[3], "\31")) do
               local colon = string.find(pair, ":", 1, true)
               headers[string.sub(pair, 1, colon - 1)] = string.gsub(string.sub(pair, colon + 1), "^%s+", "")
            end
         end
         local body = f[4]
         if body == "" then body = nil end
         table.insert(requests, {method = f[1], path = f[2], headers = headers, body = body})
      end
   end
   file:close()
   assert(#requests > 0, "no requests in " .. args[1])
   position = tid  -- this thread's first line (0-based); the stride is the number of threads
   for i, r in ipairs(requests) do
      formatted[i] = wrk.format(r.method, r.path, r.headers, r.body)
   end
end

function request()
   local i = position % #requests + 1
   position = position + stride
   sent = sent + 1
   if prefix then
      local r = requests[i]
      r.headers["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. sent
      return wrk.format(r.method, r.path, r.headers, r.body)
   end
   return formatted[i]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + n
      end
   end
   for status, n in pairs(total) do
      io.write(string.format("wrk-status %d %d\n", status, n))
   end
end
