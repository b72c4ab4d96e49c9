-- GET the path given as the first script argument.
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
local common = require("common")
local path = "/"
function init(args) path = args[1] or "/" end
function request() return wrk.format("GET", path) end
done = common.done
