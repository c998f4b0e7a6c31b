-- wrk script: replays one Claude Code turn (POST /v1/messages?beta=true with the 49 KB body)
-- and prints machine-readable results from done().
--
-- Configured through environment variables set by run.sh:
--   BENCH_BODY_FILE      request body to send (required)
--   BENCH_API_KEY        value of x-api-key (required)
--   BENCH_PATH           request path, default /v1/messages?beta=true
--   BENCH_EXTRA_HEADERS  extra "Name: value" lines separated by newlines (Portkey's routing headers)
--
-- The request bytes are built once in init(): formatting per request would make the load
-- generator, not the gateway, the bottleneck on a 2-core machine.

local function read_file(path)
   local f = assert(io.open(path, "rb"), "cannot open BENCH_BODY_FILE " .. tostring(path))
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
   -- What Claude Code 2.1.x sends on every turn (shared/reference/claude-code.md §1.2).
   local headers = {
      ["anthropic-version"] = "2023-06-01",
      ["anthropic-beta"] = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,"
         .. "per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,"
         .. "advanced-tool-use-2025-11-20,effort-2025-11-24",
      ["content-type"] = "application/json",
      ["accept"] = "application/json",
      ["user-agent"] = "claude-cli/2.1.330 (external, sdk-cli)",
      ["x-app"] = "cli",
      ["x-claude-code-session-id"] = "00000000-0000-4000-8000-000000000001",
      ["x-stainless-lang"] = "js",
      ["x-stainless-retry-count"] = "0",
      ["x-stainless-timeout"] = "600",
      ["x-api-key"] = required_env("BENCH_API_KEY"),
   }
   local extra = os.getenv("BENCH_EXTRA_HEADERS") or ""
   for line in extra:gmatch("[^\n]+") do
      local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
      if name then
         headers[name] = value
      end
   end
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
