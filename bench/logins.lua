-- Password logins (the password grant), spread over BENCH_USERS distinct users so that the
-- per-account throttle sees each user only a few times in flight.
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
function request()
  n = n + 1
  local user = string.format("load%d", ((n * 2 + id) % users))
  return wrk.format("POST", "/oauth/token", headers,
    "grant_type=password&scope=profile&username=" .. user .. "&password=" .. password)
end
done = common.done
