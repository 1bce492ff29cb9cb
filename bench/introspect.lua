-- wrk script: POST /oauth2/introspect, rotating through real tokens.
-- BENCH_TOKENS_FILE: one secret per line; BENCH_AUTH: the Basic credentials header value.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do
  tokens[#tokens + 1] = "token=" .. line
end
local headers = {
  ["Authorization"] = os.getenv("BENCH_AUTH"),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local index = math.random(#tokens)

request = function()
  index = index % #tokens + 1
  return wrk.format("POST", "/oauth2/introspect", headers, tokens[index])
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %.1f %.1f %.1f\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
