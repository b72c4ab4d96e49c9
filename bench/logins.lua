-- Password logins (the password grant), spread over BENCH_USERS distinct users so that the
-- per-account throttle sees each user only a few times in flight. BENCH_USER_FORMAT names them
-- (default load%d, bench/run's; bench/scale's bulk-loaded users are scale%06d).
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
local common = require("common")
setup = common.setup
local n = 0
local users = tonumber(os.getenv("BENCH_USERS") or "200")
local headers = {
  ["Authorization"] = "Basic " .. (os.getenv("BENCH_BASIC") or ""),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local password = os.getenv("BENCH_PASSWORD")
local format = os.getenv("BENCH_USER_FORMAT") or "load%d"
function request()
  n = n + 1
  local user = string.format(format, ((n * 2 + id) % users))
  return wrk.format("POST", "/oauth/token", headers,
    "grant_type=password&scope=profile&username=" .. user .. "&password=" .. password)
end
done = common.done
