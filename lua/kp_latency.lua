-- kp.latency: time spent in a function, an entry probe and a return
-- probe paired by thread.
local check = require "kp.check"
local probe = require "kp.probe"
check.own()

local M = {}
local fail, check_keys = check.fail, check.check_keys

-- the pairings made, for kp.counters()["latency:TARGET"]: { name, counts }
M.latencies = {}
local latencies = M.latencies

local LAT_OPTS = { args = "table", filter = "string", pages = "number", cap = "number" }

--- kp.latency("FUNC" | "PATH:FUNC", [opts,] fn): time spent in a function.
--- An entry probe and a return probe (kprobe + kretprobe for a kernel
--- function, uprobe + uretprobe for PATH:FUNC) paired by thread:
--- fn(ev, ns, entry) runs at each return with the return event (ev.ret is
--- the return value), the nanoseconds since the matching entry, and, when
--- opts.args names entry arguments, the entry event's copy. Recursion
--- pairs innermost first. opts: args, filter (entry probe), pages, cap
--- (threads with a pending entry, default 65536). Returns the two probes.
function M.latency(target, opts, fn)
  if type(opts) == "function" and fn == nil then opts, fn = nil, opts end
  if type(target) ~= "string" or target == "" then
    fail(2, "kp.latency: argument 1 must be a kernel function or 'PATH:FUNC', got %s", type(target))
  end
  if type(fn) ~= "function" then
    fail(2, "kp.latency: the last argument must be a function(ev, ns, entry), got %s", type(fn))
  end
  opts = opts or {}
  if type(opts) ~= "table" then fail(2, "kp.latency: opts must be a table, got %s", type(opts)) end
  check_keys("kp.latency", opts, LAT_OPTS)
  local cap = opts.cap or 65536
  local keep = opts.args ~= nil
  local starts, outer, entries, pending = {}, {}, {}, 0
  local unmatched, overflow = 0, 0
  local function on_entry(e)
    local tid, t = e.tid, e.time
    local prev = starts[tid]
    if prev == nil then
      if pending >= cap then
        -- threads that entered and never returned (exited, longjmp):
        -- start over rather than grow without bound
        overflow = overflow + pending
        starts, outer, entries, pending = {}, {}, {}, 0
      end
      pending = pending + 1
    else
      local o = outer[tid]
      if not o then o = {}; outer[tid] = o end
      o[#o + 1] = prev
      if keep then o[#o + 1] = entries[tid] end
    end
    starts[tid] = t
    if keep then entries[tid] = e:copy() end
  end
  local function on_return(e)
    local tid = e.tid
    local t = starts[tid]
    if t == nil then
      unmatched = unmatched + 1
      return
    end
    local entry = entries[tid]
    local o = outer[tid]
    if o and #o > 0 then
      if keep then entries[tid] = table.remove(o) end
      starts[tid] = table.remove(o)
    else
      starts[tid], entries[tid], outer[tid] = nil, nil, nil
      pending = pending - 1
    end
    fn(e, tonumber(e.time - t), entry)
  end
  local popts = { filter = opts.filter, pages = opts.pages }
  local ropts = { pages = opts.pages }
  local path, sym = target:match("^(.+):([^:]+)$")
  local p1, p2
  if path then
    p1 = probe.uprobe(target, opts.args or {}, popts, on_entry)
    p2 = probe.uretprobe(target, { ret = "$retval" }, ropts, on_return)
  else
    -- the return probe first: a kprobe declared after it runs before it
    -- takes the return address (see stack_order)
    p2 = probe.kretprobe(target, { ret = "$retval" }, ropts, on_return)
    p1 = probe.kprobe(target, opts.args or {}, popts, on_entry)
  end
  latencies[#latencies + 1] = { name = "latency:" .. target, counts = function()
    return { unmatched = unmatched, dropped = overflow, pending = pending }
  end }
  return p1, p2
end

return M
