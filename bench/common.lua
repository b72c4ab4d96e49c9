-- Shared by every scenario: print one machine-readable line when wrk is done.
local M = {}

function M.done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d seconds=%.3f p50_us=%d p99_us=%d errors=%d kinds=connect:%d,read:%d,write:%d,status:%d,timeout:%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), errors,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
end

-- Reads a file's lines into a table.
function M.lines(path)
  local t = {}
  for line in io.lines(path) do
    if line ~= "" then t[#t + 1] = line end
  end
  return t
end

-- Gives each wrk thread an id from 1 up, in setup().
local counter = 0
function M.setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

return M
