-- A forward-auth check for a signed-in browser, as Caddy or Traefik ask it: the X-Forwarded-*
-- family and the browser's forward-auth cookie (BENCH_FA_COOKIE).
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
local common = require("common")
local headers = {
  ["X-Forwarded-Method"] = "GET",
  ["X-Forwarded-Proto"] = "http",
  ["X-Forwarded-Host"] = "app.bench.test",
  ["X-Forwarded-Uri"] = "/page?x=1",
  ["X-Forwarded-For"] = "198.51.100.7",
  ["Cookie"] = os.getenv("BENCH_FA_COOKIE"),
}
function request() return wrk.format("GET", "/api/authz/forward-auth", headers) end
done = common.done
