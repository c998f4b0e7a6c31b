-- wrk script: replays one Claude Code turn (POST /v1/messages?beta=true with the 49 KB body)
-- and prints machine-readable results from done().
--
-- Configured through environment variables set by run.sh:
--   BENCH_BODY_FILE     request body to send (required)
--   BENCH_HEADERS_FILE  request headers, one "Name: value" per line (required): Claude Code's
--                       captured headers with this leg's x-api-key and routing headers
--   BENCH_PATH          request path, default /v1/messages?beta=true
--
-- The request bytes are built once in init(): formatting per request would make the load
-- generator, not the gateway, the bottleneck on a 2-core machine.

local function read_file(path)
   local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
   local data = f:read("*a")
   f:close()
   return data
end

local function required_env(name)
   local value = os.getenv(name)
   if value == nil or value == "" then
      error(name .. " must be set")
   end
   return value
end

local prepared_request

function init(args)
   local body = read_file(required_env("BENCH_BODY_FILE"))
   local path = os.getenv("BENCH_PATH") or "/v1/messages?beta=true"
   local headers = {}
   for line in read_file(required_env("BENCH_HEADERS_FILE")):gmatch("[^\r\n]+") do
      local name, value = line:match("^([%w%-]+):%s*(.-)%s*$")
      if name then
         headers[name] = value
      end
   end
   -- wrk.format adds Host and Content-Length itself.
   prepared_request = wrk.format("POST", path, headers, body)
end

function request()
   return prepared_request
end

function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local e = summary.errors
   -- One line, key=value, microseconds for latencies: run.sh parses it.
   io.write(string.format(
      "BENCH requests=%d duration_s=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d mean_us=%.1f max_us=%d "
         .. "errors_status=%d errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d bytes=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
      e.status, e.connect, e.read, e.write, e.timeout, summary.bytes))
end
