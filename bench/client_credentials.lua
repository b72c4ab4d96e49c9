-- client_credentials with HTTP Basic: BENCH_BASIC holds the base64 of "id:secret".
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
local common = require("common")
local body = "grant_type=client_credentials"
local headers = {
  ["Authorization"] = "Basic " .. (os.getenv("BENCH_BASIC") or ""),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
function request() return wrk.format("POST", "/oauth/token", headers, body) end
done = common.done
