-- Introspection of a JWT access token (BENCH_ACCESS) with HTTP Basic.
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
local common = require("common")
local headers = {
  ["Authorization"] = "Basic " .. (os.getenv("BENCH_BASIC") or ""),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local body = "token=" .. (os.getenv("BENCH_ACCESS") or "")
function request() return wrk.format("POST", "/oauth/introspect", headers, body) end
done = common.done
