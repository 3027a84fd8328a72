-- wrk script for `make bench`: authenticates with the API key in BENCH_API_KEY, requests
-- BENCH_API_PATH (with {device} replaced by a random one of BENCH_API_DEVICES devices named
-- BENCH_API_PREFIX + 5 digits), and prints the figures as one JSON line at the end.
local key = os.getenv("BENCH_API_KEY")
local pattern = os.getenv("BENCH_API_PATH")
local devices = tonumber(os.getenv("BENCH_API_DEVICES") or "1")
local prefix = os.getenv("BENCH_API_PREFIX") or "api-"

wrk.headers["Authorization"] = "Bearer " .. key

request = function()
    local device = prefix .. string.format("%05d", math.random(1, devices))
    return wrk.format("GET", (pattern:gsub("{device}", device)))
end

done = function(summary, latency, requests)
    local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
    io.write(string.format(
        '{"requests":%d,"seconds":%.3f,"requests_per_second":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"socket_errors":%d,"non_2xx":%d}\n',
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, errors, summary.errors.status))
end
