-- Refresh-token rotation: every thread owns a slice of the refresh tokens in BENCH_TOKENS and
-- replaces each with the one the server rotates it into. bench/run makes a few more tokens than
-- connections: wrk calls request() once more on the first thread's state before the run, to check
-- the script, and that call takes a token no connection ever sends.
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
local common = require("common")
setup = common.setup
local queue = {}
local headers = {
  ["Authorization"] = "Basic " .. (os.getenv("BENCH_BASIC") or ""),
  ["Content-Type"] = "application/x-www-form-urlencoded",
}
function init(args)
  local all = common.lines(os.getenv("BENCH_TOKENS"))
  local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
  for i, t in ipairs(all) do
    if (i - 1) % threads == id - 1 then queue[#queue + 1] = t end
  end
end
function request()
  local token = table.remove(queue, 1) or "exhausted"
  return wrk.format("POST", "/oauth/token", headers, "grant_type=refresh_token&refresh_token=" .. token)
end
local reported = false
function response(status, hdrs, body)
  local token = string.match(body, '"refresh_token":"([^"]+)"')
  if token then
    queue[#queue + 1] = token
  elseif not reported then
    reported = true
    io.stderr:write("refresh: first failure " .. status .. " " .. body .. "\n")
  end
end
done = common.done
