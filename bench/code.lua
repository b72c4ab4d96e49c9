-- The authorization code round trip for a signed-in browser: GET /oauth/authorize with the
-- session cookie (a first-party client: no consent page), then redeem the code. Two requests
-- make one round trip.
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
local common = require("common")
local codes = {}
local authorize = os.getenv("BENCH_AUTHORIZE")
local cookie = { ["Cookie"] = os.getenv("BENCH_COOKIE") }
local token_headers = {
  ["Authorization"] = "Basic " .. (os.getenv("BENCH_BASIC") or ""),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
local tail = "&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_verifier=" .. os.getenv("BENCH_VERIFIER")
function request()
  local code = table.remove(codes, 1)
  if code then
    return wrk.format("POST", "/oauth/token", token_headers, "grant_type=authorization_code&code=" .. code .. tail)
  end
  return wrk.format("GET", authorize, cookie)
end
function response(status, hdrs, body)
  local location = hdrs["Location"] or hdrs["location"]
  if location then
    local code = string.match(location, "[?&]code=([^&]+)")
    if code then codes[#codes + 1] = code end
  end
end
done = common.done
