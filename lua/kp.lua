-- kp: the Lua API of kpscript. Probes are declared here, checked, and handed
-- to the C host (kp.core), which creates them in the kernel and calls their
-- functions with each event. docs/API.md documents every function.
local core = require "kp.core"
local ffi = require "ffi"
local bit = require "bit"

local kp = { version = core.version }

-- 64-bit integers: plain numbers while exact (|v| < 2^53); beyond that
-- LuaJIT boxed int64_t/uint64_t cdata, which compare and add exactly.
local u64, i64 = ffi.typeof("uint64_t"), ffi.typeof("int64_t")
core.set_mk64(function(hi, lo, signed)
  local v = u64(hi) * 4294967296ULL + lo
  if signed then return i64(v) end
  return v
end)

-- Errors kpscript raises for a declaration (misuse, or a probe the kernel
-- cannot create) are one line naming the script line; they are tables so
-- the top level prints them without a traceback. tostring() gives the text.
local KpError = {}
KpError.__index = KpError
KpError.__tostring = function(e) return e.msg end

local SELF = debug.getinfo(1, "S").source

-- The place to blame is the first caller outside this file.
-- "FILE:LINE: " of the script line that called into kp, or ""
local function where()
  for level = 3, 50 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source ~= SELF and info.what ~= "C" then
      if info.currentline and info.currentline > 0 then
        return info.short_src .. ":" .. info.currentline .. ": "
      end
      break
    end
  end
  return ""
end

local function raise(msg)
  error(setmetatable({ msg = where() .. msg, kp_error = true }, KpError), 0)
end

local function fail(_, fmt, ...)
  raise(string.format(fmt, ...))
end

-- The handler may be left out: the probe's events are then counted, and
-- kp.rule can act on them.
local function check_fn(fname, fn, pos)
  if fn ~= nil and type(fn) ~= "function" then
    fail(3, "%s: argument %d must be a function (the event handler), got %s", fname, pos, type(fn))
  end
end

local handlers = setmetatable({}, { __mode = "k" }) -- probe -> the script's handler
local unhandled = {} -- probes declared without a handler: { probe, where, fname }

-- where the script declared something: the first caller outside this file
local function caller()
  for level = 3, 50 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source ~= SELF and info.what ~= "C" then
      return info.short_src .. ":" .. (info.currentline or 0)
    end
  end
  return "?"
end

-- ---- live reload (--watch): probes carried over by their declaration --

local pool = {}        -- key -> probe of the running version
local current = {}     -- key -> probe of the version being loaded
local claimed = {}     -- key -> true: carried over into the version being loaded
local staging = false  -- a new version is being loaded

local function optkey(opts)
  local t = {}
  for k, v in pairs(opts or {}) do t[#t + 1] = tostring(k) .. "=" .. tostring(v) end
  table.sort(t)
  return table.concat(t, ",")
end

-- The probe the running version declared the same way, or nil.
local function reused(key)
  local p = staging and pool[key]
  if p and not claimed[key] then
    claimed[key] = true
    current[key] = p
    return p
  end
end

local function remember(key, p)
  current[key] = p
  return p
end

local function declared(p, fn, fname)
  handlers[p] = fn or false
  if not fn then unhandled[#unhandled + 1] = { p = p, where = caller(), fname = fname } end
  return p
end

local known_opts = { filter = "string", pages = "number", wakeup = "number", maxactive = "number",
  stack = "any" }

-- The keys of an options table against SPEC { name = "lua type" }: an
-- unknown name (a typo) or a value of the wrong type is an error. A type
-- SPEC gives as "any" is left to the caller's own check.
local function check_keys(fname, opts, spec)
  for k, v in pairs(opts) do
    local want = spec[k]
    if not want then
      local names = {}
      for n in pairs(spec) do names[#names + 1] = n end
      table.sort(names)
      fail(3, "%s: unknown option '%s' (known: %s)", fname, tostring(k), table.concat(names, ", "))
    end
    if want ~= "any" and type(v) ~= want then
      fail(3, "%s: opts.%s must be a %s, got %s", fname, k, want, type(v))
    end
  end
end

local function check_opts(fname, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    fail(3, "%s: opts must be a table, got %s", fname, type(opts))
  end
  check_keys(fname, opts, known_opts)
  local v = opts.stack
  if v ~= nil and v ~= true and v ~= false and v ~= "kernel" and v ~= "user" and v ~= "both" then
    fail(3, "%s: opts.stack must be true, \"kernel\", \"user\" or \"both\", got %s", fname,
      type(v) == "string" and '"' .. v .. '"' or type(v))
  end
  local pages = opts.pages
  if pages ~= nil and (pages < 1 or pages > 65536 or pages % 1 ~= 0
      or bit.band(pages, pages - 1) ~= 0) then
    fail(3, "%s: opts.pages must be a power of two from 1 to 65536, got %s", fname, tostring(pages))
  end
  local wakeup = opts.wakeup
  if wakeup ~= nil and (wakeup < 1 or wakeup > 1e6 or wakeup % 1 ~= 0) then
    fail(3, "%s: opts.wakeup must be a whole number of events from 1 to 1000000, got %s",
      fname, tostring(wakeup))
  end
  return opts
end


--- kp.tracepoint("group:event", [opts,] fn)
function kp.tracepoint(name, opts, fn)
  if type(opts) == "function" and fn == nil then opts, fn = nil, opts end
  if type(name) ~= "string" then
    fail(2, "kp.tracepoint: argument 1 must be a string 'group:event', got %s", type(name))
  end
  local sys, ev = name:match("^tracepoint:([%w_]+):([%w_]+)$")
  if not sys then sys, ev = name:match("^([%w_]+):([%w_]+)$") end
  if not sys then
    fail(2, "kp.tracepoint: '%s' is not of the form 'group:event' (e.g. 'sched:sched_process_exec')", name)
  end
  opts = check_opts("kp.tracepoint", opts)
  check_fn("kp.tracepoint", fn, 3)
  local key = "tp|" .. sys .. ":" .. ev .. "|" .. optkey(opts)
  local p = reused(key)
  if not p then
    local err
    p, err = core.tracepoint(sys, ev, opts, fn)
    if not p then raise(err) end
    remember(key, p)
  end
  return declared(p, fn, "kp.tracepoint")
end

-- args: { name = "FETCHARG[:TYPE]", ... } -> "name=FETCHARG ..." sorted by name
local RESERVED = { pid = true, tid = true, cpu = true, time = true, comm = true, probe = true }

-- A BTF argument names a parameter or $retval and a member path
-- ("new->uid.val"); a raw fetch argument starts with %, @, +, -, \ or $
-- (other than $retval) or has a :TYPE.
local function is_btf(v)
  if v:find("[:%(%)%%@+\\%s]") then return false end
  return v == "$retval" or v:match("^%$retval[%.%-]") ~= nil or v:match("^[%a_]") ~= nil
end

local function check_name(fname, k)
  if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
    fail(4, "%s: argument name %s is not an identifier", fname, tostring(k))
  end
  if k:match("^common_") or RESERVED[k] then
    fail(4, "%s: argument name '%s' is reserved (ev.%s is set by kpscript)", fname, k, k)
  end
end

-- args: { name = "FETCHARG[:TYPE]" | "btf->path", "btf->path", ... } ->
-- "name=FETCHARG ..." sorted by name, and the BTF entries { name, expr }
-- (name nil: the compiler picks it) for the host to compile per function.
local function compile_args(fname, args, btf_ok)
  if args == nil then return "", {} end
  if type(args) ~= "table" then
    fail(4, "%s: args must be a table { name = 'FETCHARG[:TYPE]' }, got %s", fname, type(args))
  end
  local names, btf = {}, {}
  for k, v in pairs(args) do
    local positional = type(k) == "number"
    if not positional then check_name(fname, k) end
    if type(v) ~= "string" or v == "" or v:find("%s") then
      fail(4, "%s: args%s must be a fetch argument like '%%di' or '+0(%%si):string'%s "
        .. "with no spaces, got %s", fname, positional and ("[" .. k .. "]") or ("." .. k),
        btf_ok and " or a BTF path like 'new->uid.val'" or "",
        type(v) == "string" and ("'" .. v .. "'") or type(v))
    end
    -- for user probes $retval is the kernel's own fetch argument
    if is_btf(v) and (btf_ok or v:sub(1, 1) ~= "$") then
      if not btf_ok then
        fail(4, "%s: '%s' looks like a parameter name: user probes take fetch arguments "
          .. "('%%di', '+0(%%si):ustring'); names from debug info work for kernel functions "
          .. "only", fname, v)
      end
      btf[#btf + 1] = { name = not positional and k or nil, expr = v }
    elseif positional then
      fail(4, "%s: args[%d] = '%s' is a raw fetch argument: give it a name, { name = '%s' }",
        fname, k, v, v)
    else
      names[#names + 1] = k
    end
  end
  table.sort(names)
  table.sort(btf, function(a, b) return (a.name or a.expr) < (b.name or b.expr) end)
  local parts = {}
  for i, k in ipairs(names) do parts[i] = k .. "=" .. args[k] end
  return table.concat(parts, " "), btf
end

local function uprobe(fname, ret, spec, args, opts, fn)
  if type(opts) == "function" and fn == nil then opts, fn = nil, opts end
  if type(args) == "function" and opts == nil and fn == nil then args, fn = nil, args end
  if type(spec) ~= "string" then
    fail(3, "%s: argument 1 must be a string 'PATH:SYMBOL[+OFF]' or 'PATH:0xOFFSET', got %s",
      fname, type(spec))
  end
  local path, target = spec:match("^(.+):([^:]+)$")
  if not path then
    fail(3, "%s: '%s' is not of the form 'PATH:SYMBOL[+OFF]' or 'PATH:0xOFFSET'", fname, spec)
  end
  local sym, off
  if target:match("^0[xX]%x+$") then
    off = tonumber(target:sub(3), 16)
  else
    sym, off = target:match("^([%a_.$][%w_.$@]*)%+(%w+)$")
    if sym then
      off = tonumber(off)
      if not off or off < 0 then fail(3, "%s: bad offset in '%s'", fname, spec) end
    elseif target:match("^[%a_.$][%w_.$@]*$") then
      sym, off = target, 0
    else
      fail(3, "%s: '%s' is not a symbol, SYMBOL+OFF or 0xOFFSET", fname, target)
    end
  end
  local argstr = compile_args(fname, args, false)
  opts = check_opts(fname, opts)
  check_fn(fname, fn, 4)
  if not ret and sym and off == 0 and (opts.stack == true or opts.stack == "user"
      or opts.stack == "both") then
    -- At a function's first instruction the frame-pointer walk skips the
    -- caller (its return address is at the stack pointer, not yet behind
    -- a saved frame pointer): fetch it, and the host puts it back in ev.stack
    argstr = argstr .. (argstr ~= "" and " " or "") .. "__kp_ra=+0(%sp):x64"
  end
  local key = fname .. "|" .. spec .. "|" .. argstr .. "|" .. optkey(opts)
  local p = reused(key)
  if not p then
    local err
    p, err = core.uprobe(path, sym, off, ret, argstr, opts, fn)
    if not p then raise(err) end
    remember(key, p)
  end
  return declared(p, fn, fname)
end

--- kp.uprobe("PATH:SYMBOL[+OFF]" | "PATH:0xOFFSET", args, [opts,] fn)
function kp.uprobe(spec, args, opts, fn)
  local p = uprobe("kp.uprobe", false, spec, args, opts, fn)
  return p
end
--- kp.uretprobe(...): as kp.uprobe, on function return ($retval)
function kp.uretprobe(spec, args, opts, fn)
  local p = uprobe("kp.uretprobe", true, spec, args, opts, fn)
  return p
end

-- kprobe targets: "SYMBOL", "SYMBOL+OFF", "MODULE:SYMBOL", or a list of
-- such candidates tried in order.
local function kprobe_targets(fname, ret, sym)
  local list = type(sym) == "table" and sym or { sym }
  if type(sym) ~= "string" and type(sym) ~= "table" then
    fail(3, "%s: argument 1 must be a kernel function name or a list of candidates, got %s",
      fname, type(sym))
  end
  if #list == 0 then fail(3, "%s: the list of candidate functions is empty", fname) end
  for i, t in ipairs(list) do
    if type(t) ~= "string" or not (t:match("^[%a_][%w_.]*$") or t:match("^[%a_][%w_.]*%+%w+$")
        or t:match("^[%w_-]+:[%a_][%w_.]*$")) then
      fail(3, "%s: '%s' is not a kernel function name (SYMBOL, SYMBOL+OFF or MODULE:SYMBOL)",
        fname, tostring(t))
    end
    if ret and t:find("+", 1, true) then
      fail(3, "%s: '%s': a return probe goes on a function's entry, without +OFF", fname, t)
    end
  end
  return list
end

-- Kernel functions that kprobes with kernel stacks were declared on. A
-- kretprobe declared later on one of them hijacks its return address
-- before those kprobes run (the kernel runs the newest handler of an
-- address first); a kernel that cannot unwind through the kretprobe's
-- trampoline then cuts their stacks there. Declared the other way round,
-- the kprobes see the whole chain.
local stacked, warned = {}, {}
local function stack_order(fname, ret, list, opts)
  local kernel = opts.stack == true or opts.stack == "both" or opts.stack == "kernel"
  for _, t in ipairs(list) do
    local f = t:match("^[^+]*")
    if not ret and kernel then
      stacked[f] = true
    elseif ret and stacked[f] and not warned[f] and not core.has("kretprobe_stack") then
      warned[f] = true
      io.stderr:write(string.format("kpscript: warning: %s%s on %s after a kprobe with stacks on it: "
        .. "this kernel cannot unwind through a kretprobe (kp.has(\"kretprobe_stack\") is false), "
        .. "so those stacks will end in [callers lost: ...]; declare the kretprobe first\n",
        where(), fname, f))
    end
  end
end

local function kprobe(fname, ret, sym, args, opts, fn)
  if type(opts) == "function" and fn == nil then opts, fn = nil, opts end
  if type(args) == "function" and opts == nil and fn == nil then args, fn = nil, args end
  local list = kprobe_targets(fname, ret, sym)
  local argstr, btf = compile_args(fname, args, true)
  opts = check_opts(fname, opts)
  check_fn(fname, fn, 4)
  local maxactive = opts.maxactive
  if maxactive ~= nil then
    if not ret then fail(3, "%s: opts.maxactive is for kretprobes", fname) end
    if maxactive < 1 or maxactive > 4096 or maxactive % 1 ~= 0 then
      fail(3, "%s: opts.maxactive must be a whole number from 1 to 4096, got %s", fname,
        tostring(maxactive))
    end
  end
  local bk = {}
  for i, b in ipairs(btf) do bk[i] = tostring(b.name) .. "=" .. b.expr end
  local key = fname .. "|" .. table.concat(list, ",") .. "|" .. argstr .. "|" ..
    table.concat(bk, ",") .. "|" .. optkey(opts)
  local p = reused(key)
  if not p then
    local err
    stack_order(fname, ret, list, opts)
    p, err = core.kprobe(list, ret, argstr, opts, fn, maxactive, btf)
    if not p then raise(err) end
    remember(key, p)
  end
  return declared(p, fn, fname)
end

--- kp.kprobe(SYMBOL[+OFF] | { candidates }, args, [opts,] fn)
function kp.kprobe(sym, args, opts, fn)
  local p = kprobe("kp.kprobe", false, sym, args, opts, fn)
  return p
end

--- kp.kretprobe(SYMBOL | { candidates }, args, [opts,] fn); opts.maxactive
function kp.kretprobe(sym, args, opts, fn)
  local p = kprobe("kp.kretprobe", true, sym, args, opts, fn)
  return p
end

--- kp.probe("p:SYMBOL[+OFF] ARGS..." | "r[N]:SYMBOL ARGS...", [opts,] fn): a raw
--- kprobe_events definition; kpscript chooses the group and event names.
function kp.probe(def, opts, fn)
  if type(opts) == "function" and fn == nil then opts, fn = nil, opts end
  if type(def) ~= "string" then
    fail(2, "kp.probe: argument 1 must be a kprobe_events definition string, got %s", type(def))
  end
  local kind, maxactive, target, rest = def:match("^%s*([pr])(%d*):(%S+)%s*(.-)%s*$")
  if not kind then
    fail(2, "kp.probe: '%s' is not 'p:SYMBOL[+OFF] ARGS...' or 'r[MAXACTIVE]:SYMBOL ARGS...'", def)
  end
  if target:find("/", 1, true) then
    fail(2, "kp.probe: '%s': leave out GROUP/EVENT (kpscript names its own events)", def)
  end
  if kind == "p" and maxactive ~= "" then
    fail(2, "kp.probe: '%s': MAXACTIVE is for return probes (r%s:)", def, maxactive)
  end
  local ret = kind == "r"
  local list = kprobe_targets("kp.probe", ret, target)
  opts = check_opts("kp.probe", opts)
  check_fn("kp.probe", fn, 2)
  if maxactive ~= "" then opts.maxactive = tonumber(maxactive) end
  local key = "kp.probe|" .. def .. "|" .. optkey(opts)
  local p = reused(key)
  if not p then
    local err
    stack_order("kp.probe", ret, list, opts)
    p, err = core.kprobe(list, ret, rest, opts, fn, opts.maxactive)
    if not p then raise(err) end
    remember(key, p)
  end
  return declared(p, fn, "kp.probe")
end

--- kp.has(feature): does this kernel have a mechanism ("kprobe", "btf",
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

local ProcMeta = {}
ProcMeta.__index = function(p, k)
  if k == "parent" then
    local parent = core.proc(p.pid, true)
    if parent then setmetatable(parent, ProcMeta) end
    return parent
  end
end

--- kp.proc(pid): what kpscript knows of process pid, or nil: pid, ppid,
--- comm, exe, argv (a table), uid, euid, gid, egid, start_time, cgroup,
--- container_id, exited, exit_time; p.parent walks up the chain
function kp.proc(pid)
  if type(pid) ~= "number" then fail(2, "kp.proc: argument 1 must be a pid, got %s", type(pid)) end
  local p = core.proc(pid)
  if p then setmetatable(p, ProcMeta) end
  return p
end

-- ev.proc: the process of an event, looked up when read (the event table
-- is reused, so nothing is kept in it)
do
  local EM = debug.getregistry()["kp.Event"]
  local methods = EM.__index
  local DIRTY = core.dirty_key()
  -- a key the script adds is recorded, and the host removes it before the
  -- next event refills the (reused) table
  local added = core.added
  EM.__newindex = function(ev, k, v)
    rawset(ev, k, v)
    local p = rawget(ev, DIRTY)
    if p then added(p, k) end
  end
  EM.__index = function(ev, k)
    if k == "proc" then
      local pid = rawget(ev, "pid")
      return pid and kp.proc(pid) or nil
    end
    return methods[k]
  end
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

-- ---- output: kp.emit, JSON Lines ---------------------------------------

local cjson = require "cjson"
local STACK_MT = debug.getregistry()["kp.Stack"]
cjson.encode_sparse_array(true)
cjson.encode_max_depth(32)
cjson.encode_invalid_numbers("null")

local BUILTIN = { pid = true, tid = true, cpu = true, time = true, comm = true, probe = true }
local HOST = core.hostname() or "?"

-- A value JSON can carry exactly: kernel strings are bytes, so a string that
-- is not UTF-8 becomes { base64 = "..." }; 64-bit cdata becomes a number
-- when a double holds it exactly, else a string of its decimal digits.
local function jsonable(v, depth)
  local t = type(v)
  if t == "userdata" and getmetatable(v) == STACK_MT then return kp.frames(v) end
  if t == "string" then
    if core.utf8(v) then return v end
    return { base64 = core.base64(v) }
  elseif t == "number" then
    -- lua-cjson writes 14 significant digits: a whole number past that
    -- (a 64-bit address) goes through as its digits, put back after encoding
    if v == math.floor(v) and math.abs(v) >= 1e14 and math.abs(v) < 2 ^ 53 then
      return "\0KPNUM" .. string.format("%d", v)
    end
    return v
  elseif t == "boolean" or t == "nil" then
    return v
  elseif t == "cdata" then
    local s = tostring(v):gsub("U?LL$", "")
    local n = tonumber(s)
    if n and math.abs(n) < 2 ^ 53 then return n end
    return s
  elseif t == "table" then
    if depth > 16 then return "(too deep)" end
    local out = {}
    for k, x in pairs(v) do
      local key = type(k) == "number" and k or tostring(k)
      if type(key) == "string" and not core.utf8(key) then key = "base64:" .. core.base64(key) end
      out[key] = jsonable(x, depth + 1)
    end
    return out
  end
  return tostring(v)
end

local function rfc3339(t)
  local s, ns = core.walltime(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%09dZ", ns)
end

local function is_event(t)
  return getmetatable(t) ~= nil and t.probe ~= nil and t.pid ~= nil and t.time ~= nil
end

-- The process context of an event, where the host knows it.
local function proc_of(pid)
  if pid and kp.proc then
    local ok, p = pcall(kp.proc, pid)
    if ok then return p end
  end
end

local function envelope(kind, ev, extra)
  local rec = { time = rfc3339(ev and ev.time or nil), host = HOST, kind = kind }
  local fields = {}
  if ev then
    rec.probe, rec.pid, rec.tid, rec.comm = ev.probe, ev.pid, ev.tid, ev.comm
    -- the event's fields and what the script added to this event (the
    -- host clears added keys between events)
    for k, v in pairs(ev) do
      if type(k) == "string" and not BUILTIN[k] then fields[k] = v end
    end
    local p = proc_of(ev.pid)
    if p then
      rec.ppid, rec.uid, rec.exe, rec.container_id = p.ppid, p.uid, p.exe, p.container_id
    end
  end
  if extra then
    for k, v in pairs(extra) do fields[k] = v end
  end
  rec.fields = fields
  return rec
end

local ENVELOPE = { "time", "host", "kind", "probe", "rule", "severity", "pid", "tid", "ppid",
  "uid", "comm", "exe", "container_id", "message" }

-- text: key=value, strings quoted (Lua's %q, newlines as \n) unless plain
local function text_value(v)
  if type(v) == "table" then return cjson.encode(jsonable(v, 0)) end
  if type(v) == "cdata" then v = tostring(v):gsub("U?LL$", "") end
  if type(v) == "number" then
    if v == math.floor(v) and math.abs(v) < 2 ^ 63 then return string.format("%d", v) end
    return tostring(v)
  end
  if type(v) == "boolean" then return tostring(v) end
  v = tostring(v)
  if v:match("^[%w%._/:@+%-]+$") then return v end
  -- no raw control bytes reach a terminal: %q leaves most of them as they
  -- are; bytes of a string that is not UTF-8 show as \xHH, and C1 controls
  -- (U+0080..U+009F, which terminals obey) as \u00HH
  local q = string.format("%q", v):gsub("\\\n", "\\n"):gsub("[\1-\8\11\12\13\14-\31\127]",
    function(c) return string.format("\\%03d", c:byte()) end)
  if not core.utf8(v) then
    return (q:gsub("[\128-\255]", function(c) return string.format("\\x%02x", c:byte()) end))
  end
  return (q:gsub("\194([\128-\159])", function(c) return string.format("\\u00%02x", c:byte()) end))
end

local function text_line(rec)
  local parts = {}
  for _, k in ipairs(ENVELOPE) do
    if rec[k] ~= nil then parts[#parts + 1] = k .. "=" .. text_value(rec[k]) end
  end
  local keys = {}
  for k in pairs(rec.fields) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. text_value(rec.fields[k]) end
  return table.concat(parts, " ")
end

local function write_record(rec)
  if core.config().format == "json" then
    io.stdout:write(kp.json(rec), "\n")
  else
    io.stdout:write(text_line(rec), "\n")
  end
  io.stdout:flush()
end

--- kp.emit(ev_or_table [, extra]): write one record: as a JSON Lines object
--- with -o json, else as a key=value line. Given an event, the envelope
--- (time, probe, pid, comm, and the process context) comes from it and its
--- fields go under "fields", with extra's added; given a plain table, its
--- keys are the fields and the time is now.
function kp.emit(t, extra)
  if type(t) ~= "table" then fail(2, "kp.emit: argument 1 must be a table, got %s", type(t)) end
  if extra ~= nil and type(extra) ~= "table" then
    fail(2, "kp.emit: argument 2 must be a table, got %s", type(extra))
  end
  local rec
  if is_event(t) then
    rec = envelope("event", t, extra)
  else
    rec = envelope("event", nil, t)
    if extra then for k, v in pairs(extra) do rec.fields[k] = v end end
  end
  write_record(rec)
end

--- kp.json(v): v as one line of JSON, with kpscript's rules for bytes and
--- 64-bit values
function kp.json(v) return (cjson.encode(jsonable(v, 0)):gsub('"\\u0000KPNUM(%-?%d+)"', "%1")) end

-- ---- aggregates and stacks --------------------------------------------------

-- kp.latency pairings, for kp.counters()["latency:TARGET"]
local latencies = {}
-- Every aggregate made, in order, for printing at exit: { a, name, print }
local aggs = {}
local agg_info = setmetatable({}, { __mode = "k" }) -- aggregate -> its entry in aggs
local source_lines = {}

-- The variable a declaration assigns to ("local opens = kp.count()"), read
-- from the script's source line, so it prints as @opens like bpftrace.
local function agg_name_from_source()
  for level = 3, 50 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.source ~= SELF and info.what ~= "C" then
      local src, line = info.source, info.currentline
      local lines = source_lines[src]
      if not lines then
        lines = {}
        local text
        if src:sub(1, 1) == "@" then
          local f = io.open(src:sub(2), "r")
          if f then text = f:read("*a"); f:close() end
        elseif src:sub(1, 1) ~= "=" then
          text = src
        end
        for l in ((text or "") .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
        source_lines[src] = lines
      end
      local l = lines[line or 0]
      -- one name assigned one aggregate: "local a, b = kp.count(), ..."
      -- names neither (which is which is not on the line)
      local lhs = l and l:match("^%s*local%s+([%w_,%s]-)%s*=%s*kp%.%a+%s*[%({]")
        or l and l:match("^%s*([%w_.,%s]-)%s*=%s*kp%.%a+%s*[%({]")
      if lhs and not lhs:find(",") then return lhs:match("([%a_][%w_]*)$") end
      return nil
    end
  end
end

local AGG_OPTS = { name = "string", cap = "number", print = "boolean" }

local function new_agg(fname, kind, opts, ...)
  if type(opts) == "string" then opts = { name = opts } end
  if opts ~= nil and type(opts) ~= "table" then
    fail(3, "%s: opts must be a name or a table, got %s", fname, type(opts))
  end
  opts = opts or {}
  check_keys(fname, opts, AGG_OPTS)
  if opts.cap ~= nil and (opts.cap < 1 or opts.cap % 1 ~= 0 or opts.cap > 1e8) then
    fail(3, "%s: opts.cap must be a whole number of keys from 1 to 100000000, got %s", fname,
      tostring(opts.cap))
  end
  local ok, a = pcall(core.agg_new, kind, opts.cap or 0, ...)
  if not ok then fail(3, "%s: %s", fname, tostring(a):gsub("^[^:]*:%d+: ", "")) end
  local name = opts.name or agg_name_from_source() or ""
  if name ~= "" and name:sub(1, 1) ~= "@" then name = "@" .. name end
  if name == "" then name = "@" .. (#aggs > 0 and tostring(#aggs + 1) or "") end
  -- names are unique, as bpftrace's maps: a second @x is @x_2
  local base, n = name, 1
  local function taken(x)
    for _, o in ipairs(aggs) do if o.name == x then return true end end
  end
  while taken(name) do n = n + 1; name = base .. "_" .. n end
  local e = { a = a, name = name, print = opts.print ~= false }
  aggs[#aggs + 1] = e
  agg_info[a] = e
  return a
end

--- kp.count([name | opts]): keyed counters. a:add(key) counts one; a[key]
--- reads (0 when absent) and a[key] = n sets. opts: name (printed as
--- @name), cap (most keys, default 65536; adds of new keys past it are
--- dropped and counted), print (false: not printed at exit).
function kp.count(opts) return new_agg("kp.count", "count", opts) end
--- kp.sum([name | opts]): keyed sums; a:add(key, n) adds n.
function kp.sum(opts) return new_agg("kp.sum", "sum", opts) end
--- kp.stats([name | opts]): count, sum, min, max and avg per key;
--- a:add(key, n) or a[key] = n records n.
function kp.stats(opts)
  -- (before aggregates, kp.stats() gave the probes' counters: now kp.counters())
  return new_agg("kp.stats", "stats", opts)
end
--- kp.hist([name | opts]): power-of-two histograms, as bpftrace hist()
function kp.hist(opts) return new_agg("kp.hist", "hist", opts) end
--- kp.lhist(min, max, step [, name | opts]): linear histograms, as
--- bpftrace lhist(); values below min and from max up get a bucket each
function kp.lhist(min, max, step, opts)
  local given = { min, max, step }
  for i = 1, 3 do
    local v = given[i]
    if type(v) ~= "number" or v % 1 ~= 0 then
      fail(2, "kp.lhist: argument %d (%s) must be a whole number, got %s", i,
        ({ "min", "max", "step" })[i], type(v) == "number" and tostring(v) or type(v))
    end
  end
  if max <= min then fail(2, "kp.lhist: max (%d) must be above min (%d)", max, min) end
  if step <= 0 then fail(2, "kp.lhist: step must be positive, got %d", step) end
  if (max - min) % step ~= 0 then
    fail(2, "kp.lhist: step %d does not divide max - min (%d)", step, max - min)
  end
  if (max - min) / step > 1000 then
    fail(2, "kp.lhist: %d buckets; at most 1000", (max - min) / step)
  end
  return new_agg("kp.lhist", "lhist", opts, min, max, step)
end

local function is_stack(v) return type(v) == "userdata" and getmetatable(v) == STACK_MT end

--- kp.ksym(addr | stack): a kernel address as "func+0x1a" (from
--- /proc/kallsyms); a stack's kernel frames as a list, innermost first
function kp.ksym(x)
  if x == nil then fail(2, "kp.ksym: argument 1 must be an address or a stack, got nil") end
  local ok, r = pcall(core.ksym, x)
  if not ok then fail(2, "kp.ksym: %s", (tostring(r):gsub("^bad argument #1 to '%?' ", ""))) end
  return r
end

--- kp.usym(pid, addr | stack) or kp.usym(stack): a user address of a
--- process as "func+0x1a" (from the ELF symbols of its mapped files); a
--- stack's user frames as a list, innermost first
function kp.usym(pid, x)
  local ok, r
  if is_stack(pid) then
    ok, r = pcall(core.usym, pid)
  else
    if type(pid) ~= "number" then
      fail(2, "kp.usym: argument 1 must be a pid or a stack, got %s", type(pid))
    end
    if x == nil then fail(2, "kp.usym: argument 2 must be an address or a stack, got nil") end
    ok, r = pcall(core.usym, pid, x)
  end
  if not ok then fail(2, "kp.usym: %s", (tostring(r):gsub("^bad argument #%d to '%?' ", ""))) end
  return r
end

--- kp.frames(stack): every frame of a stack, innermost first: kernel
--- frames, then user frames
function kp.frames(st)
  if not is_stack(st) then fail(2, "kp.frames: argument 1 must be a stack, got %s", type(st)) end
  local out = core.ksym(st)
  for _, f in ipairs(core.usym(st)) do out[#out + 1] = f end
  return out
end

local LAT_OPTS = { args = "table", filter = "string", pages = "number", cap = "number" }

--- kp.latency("FUNC" | "PATH:FUNC", [opts,] fn): time spent in a function.
--- An entry probe and a return probe (kprobe + kretprobe for a kernel
--- function, uprobe + uretprobe for PATH:FUNC) paired by thread:
--- fn(ev, ns, entry) runs at each return with the return event (ev.ret is
--- the return value), the nanoseconds since the matching entry, and, when
--- opts.args names entry arguments, the entry event's copy. Recursion
--- pairs innermost first. opts: args, filter (entry probe), pages, cap
--- (threads with a pending entry, default 65536). Returns the two probes.
function kp.latency(target, opts, fn)
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
    p1 = kp.uprobe(target, opts.args or {}, popts, on_entry)
    p2 = kp.uretprobe(target, { ret = "$retval" }, ropts, on_return)
  else
    -- the return probe first: a kprobe declared after it runs before it
    -- takes the return address (see stack_order)
    p2 = kp.kretprobe(target, { ret = "$retval" }, ropts, on_return)
    p1 = kp.kprobe(target, opts.args or {}, popts, on_entry)
  end
  latencies[#latencies + 1] = { name = "latency:" .. target, counts = function()
    return { unmatched = unmatched, dropped = overflow, pending = pending }
  end }
  return p1, p2
end

local function num_text(v)
  if type(v) == "cdata" then return (tostring(v):gsub("U?LL$", "")) end
  if type(v) == "number" and v == math.floor(v) and math.abs(v) < 2 ^ 63 then
    return string.format("%d", v)
  end
  return tostring(v)
end

-- a key as bpftrace prints it inside @name[...]
local function key_text(k)
  if type(k) == "table" then
    local parts = {}
    for i = 1, #k do parts[i] = key_text(k[i]) end
    return table.concat(parts, ", ")
  end
  if is_stack(k) then return tostring(k) end
  if type(k) == "number" or type(k) == "cdata" then return num_text(k) end
  return tostring(k)
end

-- a key as folded frames (root first): other tuple members, then the
-- stack's user frames and kernel frames, outermost first
local function fold_key(k, out)
  if type(k) == "table" then
    for i = 1, #k do fold_key(k[i], out) end
  elseif is_stack(k) then
    local u, ks = core.usym(k), core.ksym(k)
    -- a frame shown as "0x7f.. (libc.so.6+0x2724a)" keeps the line one
    -- frame list and one count
    for i = #u, 1, -1 do out[#out + 1] = (u[i]:gsub("[;%s]", "_")) end
    for i = #ks, 1, -1 do out[#out + 1] = (ks[i]:gsub("[;%s]", "_")) end
  elseif k ~= false and k ~= nil then
    out[#out + 1] = (key_text(k):gsub("[;%s]", "_"))
  end
  return out
end

local function json_key(k)
  if type(k) == "table" then
    local out = {}
    for i = 1, #k do out[i] = json_key(k[i]) end
    return out
  end
  if is_stack(k) then return kp.frames(k) end
  if k == false then return nil end
  return k
end

local function value_text(kind, v)
  if kind == "stats" then
    return string.format("count %s, average %s, total %s, min %s, max %s", num_text(v.count),
      num_text(v.avg), num_text(v.sum), num_text(v.min), num_text(v.max))
  end
  return num_text(v)
end

local PRINT_OPTS = { top = "number", folded = "boolean", name = "string" }

--- kp.print(agg [, opts]): print an aggregate as bpftrace does, sorted by
--- value (largest last); with -o json as one JSON object. opts: top = N
--- (the N largest), folded = true (stack keys as flame-graph folded
--- lines), name. kp.print(other) prints any value.
function kp.print(a, opts)
  local e = agg_info[a]
  if not e then
    if core.is_agg(a) then e = { a = a, name = "@" } else
      io.stdout:write(tostring(a), "\n")
      return
    end
  end
  opts = opts or {}
  if type(opts) ~= "table" then fail(2, "kp.print: opts must be a table, got %s", type(opts)) end
  check_keys("kp.print", opts, PRINT_OPTS)
  if opts.top and (opts.top < 1 or opts.top % 1 ~= 0) then
    fail(2, "kp.print: opts.top must be a positive whole number, got %s", tostring(opts.top))
  end
  local name = opts.name or e.name
  local kind, _, dropped = core.agg_info(a)
  local keys, vals = core.agg_entries(a, opts.top)
  local out = {}
  if core.config().format == "json" then
    local entries = {}
    for i = 1, #keys do
      local v = vals[i]
      if kind == "hist" or kind == "lhist" then
        local b = {}
        for j = 1, #v do b[j] = v[j] end
        v = { count = v.count, buckets = b }
      end
      entries[i] = { key = json_key(keys[i]), value = v }
    end
    local line = kp.json({ time = rfc3339(), host = HOST, kind = "aggregate", name = name,
      type = kind, dropped = dropped, entries = entries })
    -- lua-cjson 2.1.0 writes an empty table as an object
    if #entries == 0 then line = line:gsub('"entries":{}', '"entries":[]') end
    io.stdout:write(line, "\n")
    io.stdout:flush()
    return
  end
  if opts.folded then
    for i = 1, #keys do
      local v = vals[i]
      if type(v) == "table" then v = v.count end
      local frames = fold_key(keys[i], {})
      out[#out + 1] = table.concat(frames, ";") .. " " .. num_text(v) .. "\n"
    end
  else
    local width = core.term_width()
    for i = 1, #keys do
      local k = keys[i]
      local head = name .. (k == false and "" or "[" .. key_text(k) .. "]")
      if kind == "hist" or kind == "lhist" then
        out[#out + 1] = head .. ":\n" .. core.agg_hist_text(a, k, width) .. "\n"
      else
        out[#out + 1] = head .. ": " .. value_text(kind, vals[i]) .. "\n"
      end
    end
  end
  if dropped > 0 then
    out[#out + 1] = string.format("%s: %s new keys dropped at the cap\n", name, num_text(dropped))
  end
  io.stdout:write(table.concat(out))
  io.stdout:flush()
end

--- (internal) at exit: print every aggregate that still holds keys,
--- unless made with print = false, as bpftrace prints its maps
function kp._atexit()
  local first = true
  for _, e in ipairs(aggs) do
    if e.print and (#e.a > 0 or select(3, core.agg_info(e.a)) > 0) then
      if first and core.config().format ~= "json" then io.stdout:write("\n") end
      first = false
      kp.print(e.a)
    end
  end
end

-- ---- rules ----------------------------------------------------------------

local SEVERITIES = { info = true, low = true, medium = true, high = true, critical = true }
local RULE_KEYS = { name = true, on = true, when = true, severity = true, message = true,
  fields = true }
local rules = {}       -- name -> rule
local rules_of = setmetatable({}, { __mode = "k" }) -- probe -> { rule, ... }
local RULE_ERRORS_SHOWN = 5

local function template(s, ev)
  return (s:gsub("{([%w_%.]+)}", function(k)
    local v = ev[k]
    if v == nil then return "{" .. k .. "}" end
    return tostring(v)
  end))
end

local function run_rule(r, ev)
  r.evaluated = r.evaluated + 1
  local ok, hit = true, true
  if r.when then ok, hit = pcall(r.when, ev) end
  if ok and hit then
    local msg, fields
    ok, msg = pcall(function()
      if type(r.message) == "function" then return r.message(ev) end
      if type(r.message) == "string" then return template(r.message, ev) end
      return r.name
    end)
    if ok and r.fields then
      ok, fields = pcall(function()
        local f = {}
        for k, v in pairs(r.fields) do
          if type(k) == "number" then f[v] = ev[v] else f[k] = type(v) == "function" and v(ev) or v end
        end
        return f
      end)
      if not ok then msg = fields end
    end
    if ok then
      r.alerts = r.alerts + 1
      local rec = envelope("alert", ev, nil)
      if r.fields then rec.fields = fields end
      rec.rule, rec.severity, rec.message = r.name, r.severity, tostring(msg)
      write_record(rec)
    else
      hit = msg -- the error, from message or fields
    end
  end
  if not ok then
    r.errors = r.errors + 1
    if r.errors <= RULE_ERRORS_SHOWN then
      io.stderr:write(string.format("kpscript: rule %s: %s%s\n", r.name, tostring(hit),
        r.errors == RULE_ERRORS_SHOWN and " (further errors of this rule are counted, not shown)" or ""))
    end
  end
end

local function dispatcher(p)
  local list = rules_of[p]
  local fn = handlers[p]
  return function(ev)
    if fn then fn(ev) end
    for i = 1, #list do run_rule(list[i], ev) end
  end
end

--- kp.rule{ name, on, when, severity, message, fields }: an alert when an
--- event of `on` (a probe or a list of probes) passes `when`; an error in
--- one rule is reported with its name and does not stop the others
function kp.rule(spec)
  if type(spec) ~= "table" then fail(2, "kp.rule: argument 1 must be a table, got %s", type(spec)) end
  for k in pairs(spec) do
    if not RULE_KEYS[k] then fail(2, "kp.rule: unknown key '%s' (keys: fields, message, name, on, severity, when)", tostring(k)) end
  end
  if type(spec.name) ~= "string" or spec.name == "" then
    fail(2, "kp.rule: name must be a non-empty string, got %s", type(spec.name))
  end
  if rules[spec.name] then fail(2, "kp.rule: a rule named '%s' exists", spec.name) end
  local on = spec.on
  if on ~= nil and getmetatable(on) ~= nil and handlers[on] ~= nil then on = { on } end
  if type(on) ~= "table" or #on == 0 then
    fail(2, "kp.rule: on must be a probe or a list of probes (from kp.tracepoint, kp.kprobe...), got %s", type(spec.on))
  end
  for _, p in ipairs(on) do
    if handlers[p] == nil then fail(2, "kp.rule: on must be a probe or a list of probes, got a %s in the list", type(p)) end
  end
  if spec.when ~= nil and type(spec.when) ~= "function" then
    fail(2, "kp.rule: when must be a function(ev) returning true for a match, got %s", type(spec.when))
  end
  local sev = spec.severity or "medium"
  if not SEVERITIES[sev] then
    fail(2, "kp.rule: severity must be one of info, low, medium, high, critical, got %s", tostring(sev))
  end
  if spec.message ~= nil and type(spec.message) ~= "string" and type(spec.message) ~= "function" then
    fail(2, "kp.rule: message must be a template string ('{comm} ran {filename}') or a function(ev)")
  end
  if spec.fields ~= nil and type(spec.fields) ~= "table" then
    fail(2, "kp.rule: fields must be a list of event field names or a table of name = function(ev)")
  end
  local r = { name = spec.name, when = spec.when, severity = sev, message = spec.message,
    fields = spec.fields, evaluated = 0, alerts = 0, errors = 0 }
  rules[r.name] = r
  for _, p in ipairs(on) do
    local list = rules_of[p]
    if not list then
      list = {}
      rules_of[p] = list
      if not staging then core.set_handler(p, dispatcher(p)) end
    end
    list[#list + 1] = r
  end
  return r
end

--- kp.counters(): per probe { events, lost, ... }, and per rule
--- ["rule:NAME"] = { evaluated, alerts, errors }
-- pairs(kp.counters()) walks the probes; the process table's
-- and the rules' counters are reached by name and stay out of that walk
local StatsMeta = { __index = function(_, k)
  if k == "proc" then return core.proc_stats() end
  for _, l in ipairs(latencies) do
    if l.name == k then return l.counts() end
  end
  local r = type(k) == "string" and rules[k:match("^rule:(.+)$") or ""]
  if r then return { evaluated = r.evaluated, alerts = r.alerts, errors = r.errors } end
end }
function kp.counters()
  return setmetatable(core.stats(), StatsMeta)
end

--- kp.run(): deliver events until stopped; returns when the run ends
local RELOADED = {} -- raised by kp.run() in a reloaded version: its load is done

function kp.run()
  -- a reloaded version: the running loop goes on, and what follows kp.run()
  -- (a summary) runs once, from the version that started the run
  if staging then error(RELOADED, 0) end
  kp._loaded()
  -- a probe with neither a handler nor a rule is almost surely a mistake
  for _, u in ipairs(unhandled) do
    if not rules_of[u.p] then
      error(setmetatable({ msg = string.format("%s: %s: %s has no handler function and no "
        .. "kp.rule uses it", u.where, u.fname, u.p.name), kp_error = true }, KpError), 0)
    end
  end
  local ok, err, code = core.run()
  if not ok then error(setmetatable({ msg = err, kp_error = true }, KpError), 0) end
  if code then os.exit(code) end
end

-- os.exit() must not skip kpscript's cleanup (it would leave probes in the
-- kernel): it raises an exit request that the host turns into the exit
-- status after removing every probe.
local KpExit = { __tostring = function(e) return "os.exit(" .. tostring(e.code) .. ")" end }
os.exit = function(code)
  if code == true or code == nil then code = 0 elseif code == false then code = 1 end
  error(setmetatable({ kp_exit = true, code = tonumber(code) or 1 }, KpExit), 0)
end

-- Run as root, a Lua file someone else could change is someone else's
-- code: loadfile, dofile and require refuse such files (core.trust says
-- why) unless --allow-unsafe-script. main.c checks the script itself.
-- The callback guard needs script code interpreted (LuaJIT's compiled
-- loops call no hook): code loaded through these stays out of the JIT too,
-- as main.c does for the script itself.
do
  local raw_loadfile = loadfile
  local guarded = core.config().callback_limit > 0
  local function nojit(chunk)
    if guarded and type(chunk) == "function" then jit.off(chunk, true) end
    return chunk
  end
  loadfile = function(path, ...)
    if path ~= nil then
      local ok, why = core.trust(path)
      if not ok then return nil, why end
    end
    local chunk, err = raw_loadfile(path, ...)
    return nojit(chunk), err
  end
  dofile = function(path)
    if path ~= nil then
      local ok, why = core.trust(path)
      if not ok then error(why, 2) end
    end
    local chunk, err = raw_loadfile(path)
    if not chunk then error(err, 2) end
    return nojit(chunk)()
  end
  local function guard(loader, pathvar, lua)
    return function(name)
      local path = package.searchpath(name, package[pathvar])
      if path then
        local ok, why = core.trust(path)
        if not ok then return "\n\t" .. why end
      end
      local r = loader(name)
      if lua then nojit(r) end
      return r
    end
  end
  package.loaders[2] = guard(package.loaders[2], "path", true)
  package.loaders[3] = guard(package.loaders[3], "cpath", false)
end

-- The globals a reloaded version starts from: those of a fresh state, with kp
local BASE = {}
for k, v in pairs(_G) do BASE[k] = v end

--- (internal) reload SCRIPT for --watch: load the new version in a fresh
--- global environment; probes it declares the same way as the running
--- version keep their kernel probe and rings (nothing is lost), others are
--- added, the rest removed. A version that fails leaves the old one running.
--- Returns true, summary | false, error.
function kp._reload(path, ...)
  local chunk, err = loadfile(path)
  if not chunk then return false, err end
  -- as main.c does for the first version: the callback guard needs the
  -- script's functions interpreted (LuaJIT's compiled loops call no hook)
  if core.config().callback_limit > 0 then jit.off(chunk, true) end
  local env = setmetatable({ kp = kp, arg = { [0] = path, ... } }, { __index = BASE })
  setfenv(chunk, env)
  local saved = { handlers = handlers, rules = rules, rules_of = rules_of, unhandled = unhandled }
  local mark = core.timer_count()
  handlers = setmetatable({}, { __mode = "k" })
  rules, rules_of, unhandled = {}, setmetatable({}, { __mode = "k" }), {}
  current, claimed, staging = {}, {}, true
  local ok, e = xpcall(chunk, function(x)
    if x == RELOADED then return x end
    if type(x) == "table" then return x end
    return debug.traceback(x, 2)
  end, ...)
  if not ok and e == RELOADED then ok = true end
  staging = false
  if ok then
    for _, u in ipairs(unhandled) do
      if not rules_of[u.p] then
        ok, e = false, string.format("%s: %s: %s has no handler function and no kp.rule uses it",
          u.where, u.fname, u.p.name)
        break
      end
    end
  end
  if not ok then
    -- drop what the failed version created, keep the running one
    for key, p in pairs(current) do
      if not claimed[key] then p:close() end
    end
    core.timers_drop(mark, core.timer_count())
    handlers, rules, rules_of, unhandled = saved.handlers, saved.rules, saved.rules_of, saved.unhandled
    current, claimed = {}, {}
    return false, type(e) == "table" and tostring(e) or e
  end
  local kept, added, removed = 0, 0, 0
  for key, p in pairs(current) do
    if claimed[key] then kept = kept + 1 else added = added + 1 end
    core.set_handler(p, rules_of[p] and dispatcher(p) or handlers[p] or nil)
  end
  for key, p in pairs(pool) do
    if not claimed[key] then
      p:close()
      removed = removed + 1
    end
  end
  core.timers_drop(0, mark)
  pool, current, claimed = current, {}, {}
  local lost = 0
  for _, st in pairs(core.stats()) do lost = lost + st.lost end
  return true, string.format("kept %d, added %d, removed %d probes (%d events lost so far)",
    kept, added, removed, lost)
end

-- the first version's probes are the pool a reload draws from
function kp._loaded()
  for key, p in pairs(current) do pool[key] = p end
  current = {}
end

return kp
