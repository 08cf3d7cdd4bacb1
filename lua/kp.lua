-- kp: the Lua API of kpscript, the hub of its parts (lua/kp_*.lua, each
-- `require "kp.PART"`). Probes are declared through it, checked, and
-- handed to the C host (kp.core), which creates them in the kernel and
-- calls their functions with each event. docs/API.md documents every
-- function.
local core = require "kp.core"
local ffi = require "ffi"
local check = require "kp.check"
local probe = require "kp.probe"
local output = require "kp.output"
local stack = require "kp.stack"
local agg = require "kp.agg"
local latency = require "kp.latency"
local rule = require "kp.rule"
local reload = require "kp.reload"
local loader = require "kp.loader"
check.own()

local kp = { version = core.version }
local fail = check.fail

-- 64-bit integers: plain numbers while exact (|v| < 2^53); beyond that
-- LuaJIT boxed int64_t/uint64_t cdata, which compare and add exactly.
local u64, i64 = ffi.typeof("uint64_t"), ffi.typeof("int64_t")
core.set_mk64(function(hi, lo, signed)
  local v = u64(hi) * 4294967296ULL + lo
  if signed then return i64(v) end
  return v
end)

-- The parts' functions, as the API names them.
local PARTS = {
  [probe] = { "tracepoint", "uprobe", "uretprobe", "kprobe", "kretprobe", "probe" },
  [output] = { "emit", "json", "is_json" },
  [stack] = { "ksym", "usym", "frames" },
  [agg] = { "count", "sum", "stats", "hist", "lhist", "print" },
  [latency] = { "latency" },
  [rule] = { "rule", "counters" },
}
for part, names in pairs(PARTS) do
  for _, name in ipairs(names) do kp[name] = assert(part[name], name) end
end

--- "eprobe", ...)? host/kp_features.c holds the list and how each is found.
function kp.has(feature)
  if type(feature) ~= "string" then
    fail(2, "kp.has: argument 1 must be a feature name, got %s", type(feature))
  end
  local yes = core.has(feature)
  if yes == nil then
    local known = core.features()
    table.sort(known)
    fail(2, "kp.has: unknown feature '%s' (known: %s)", feature, table.concat(known, ", "))
  end
  return yes
end

--- kp.offsetof(struct, member[.sub]): byte offset and size of a member of a
--- kernel struct, from the running kernel's BTF; nil, message without BTF
function kp.offsetof(st, member)
  if type(st) ~= "string" or type(member) ~= "string" then
    fail(2, "kp.offsetof: arguments must be a struct name and a member path, got %s, %s",
      type(st), type(member))
  end
  return core.offsetof(st, member)
end

--- kp.every(ms, fn): call fn every ms milliseconds while running
function kp.every(ms, fn)
  if type(ms) ~= "number" or ms < 1 then
    fail(2, "kp.every: argument 1 must be an interval in milliseconds >= 1, got %s", tostring(ms))
  end
  if type(fn) ~= "function" then
    fail(2, "kp.every: argument 2 must be a function, got %s", type(fn))
  end
  core.every(ms, fn)
end

--- kp.stop(): end the run after the current callback
function kp.stop() core.stop() end


--- kp.raw(): raw bytes of the record being delivered (inside a callback)
function kp.raw() return core.raw() end

--- kp.cpid(): pid of the -c command while it runs
function kp.cpid() return core.cpid() end

-- ---- the process table -------------------------------------------------

--- kp.proc(pid): what kpscript knows of process pid, or nil: pid, ppid,
--- comm, exe, argv (a table), uid, euid, gid, egid, start_time, cgroup,
--- container_id, exited, exit_time; p.parent walks up the chain
function kp.proc(pid)
  if type(pid) ~= "number" then fail(2, "kp.proc: argument 1 must be a pid, got %s", type(pid)) end
  return core.proc(pid)
end

--- kp.elfsym(path, symbol): the file offset a uprobe on PATH:SYMBOL uses,
--- or nil, message (two names at one offset are aliases of one function)
function kp.elfsym(path, sym) return core.elfsym(path, sym) end

--- kp.clock(): CLOCK_MONOTONIC now, in ns (the clock of ev.time)
function kp.clock() return core.clock() end

--- kp.walltime([t]): wall-clock seconds and nanoseconds of monotonic time t
--- (an ev.time), or of now
function kp.walltime(t)
  if t ~= nil and type(t) ~= "number" then t = tonumber(t) end
  return core.walltime(t)
end

--- kp.strftime(fmt, t): os.date(fmt) of monotonic time t, with %N for
--- milliseconds, e.g. kp.strftime("%H:%M:%S.%N", ev.time)
function kp.strftime(fmt, t)
  local s, ns = kp.walltime(t)
  local ms = string.format("%03d", math.floor(ns / 1e6))
  return (os.date(fmt:gsub("%%N", ms), s))
end

--- kp.config(): the run's settings from the command line
function kp.config() return core.config() end

--- kp.run(): deliver events until stopped; returns when the run ends
function kp.run()
  -- a reloaded version: the running loop goes on, and what follows kp.run()
  -- (a summary) runs once, from the version that started the run
  if probe.state.staging then error(reload.RELOADED, 0) end
  probe.loaded()
  -- a probe with neither a handler nor a rule is almost surely a mistake
  for _, u in ipairs(probe.state.unhandled) do
    if not rule.state.rules_of[u.p] then
      error(check.error(string.format("%s: %s: %s has no handler function and no "
        .. "kp.rule uses it", u.where, u.fname, u.p.name)), 0)
    end
  end
  local ok, err, code = core.run()
  if not ok then error(check.error(err), 0) end
  if code then os.exit(code) end
end

loader.install()

-- What the host calls: kp.run() when a script declared probes and did not
-- run them, the aggregates' printing at exit, and --watch's reload.
core.set_entries(kp.run, agg.atexit, function(...) return reload.reload(kp, ...) end)

-- a reloaded version starts from the globals as they are now, with kp
reload.snapshot()

return kp
