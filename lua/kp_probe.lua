-- kp.probe: the declarations (kp.tracepoint, kp.uprobe, kp.uretprobe,
-- kp.kprobe, kp.kretprobe, kp.probe): checked here, handed to the host
-- (kp.core), which creates them in the kernel. Under --watch a probe
-- declared the same way as in the running version is carried over.
local core = require "kp.core"
local check = require "kp.check"
check.own()

local M = {}
local raise, fail, check_fn, check_opts = check.raise, check.fail, check.check_fn, check.check_opts

-- What the declarations of the version being loaded made: kp.rule and
-- --watch's reload (kp.reload) read it; a reload swaps the whole of it.
M.state = {
  handlers = setmetatable({}, { __mode = "k" }), -- probe -> the script's handler (or false)
  unhandled = {}, -- probes declared without a handler: { p, where, fname }
  pool = {},      -- key -> probe of the running version
  current = {},   -- key -> probe of the version being loaded
  claimed = {},   -- key -> true: carried over into the version being loaded
  staging = false, -- a new version is being loaded
}
local S = M.state

local function optkey(opts)
  local t = {}
  for k, v in pairs(opts or {}) do t[#t + 1] = tostring(k) .. "=" .. tostring(v) end
  table.sort(t)
  return table.concat(t, ",")
end

-- The probe declared as @key: the running version's, carried over, or one
-- create() makes (it returns the probe, or nil and the host's message).
local function obtain(key, create)
  local p = S.staging and S.pool[key]
  if p and not S.claimed[key] then
    S.claimed[key] = true
  else
    local err
    p, err = create()
    if not p then raise(err) end
  end
  S.current[key] = p
  return p
end

-- The arguments by name as part of a declaration's key.
local function btf_key(btf)
  local t = {}
  for i, b in ipairs(btf) do t[i] = tostring(b.name) .. "=" .. b.expr end
  return table.concat(t, ",")
end

local function declared(p, fn, fname)
  S.handlers[p] = fn or false
  if not fn then S.unhandled[#S.unhandled + 1] = { p = p, where = check.caller(), fname = fname } end
  return p
end

--- M.loaded(): the first version's probes are the pool a reload draws from
function M.loaded()
  for key, p in pairs(S.current) do S.pool[key] = p end
  S.current = {}
end

--- M.is_probe(v): was v declared (by this version)?
function M.is_probe(v) return S.handlers[v] ~= nil end

-- In kp.tracepoint(name, T, fn), is T the arguments or opts? Arguments:
-- a BTF name in its array part, or a key that is no probe option holding a
-- string (a fetch argument or a BTF path; an option misspelt with a string
-- value is then refused as an argument, naming it: args.filtr).
local function is_args(t)
  if type(t) ~= "table" then return false end
  for k, v in pairs(t) do
    if type(k) == "number" or (not check.PROBE_OPTS[k] and type(v) == "string") then
      return true
    end
  end
  return false
end

-- kp.tracepoint's optional arguments sorted out: args, opts, fn
local function tp_signature(args, opts, fn)
  if fn ~= nil then return args, opts, fn end
  if opts == nil then
    -- (name, fn), (name, opts) or (name, args), with no handler
    if type(args) ~= "table" then return nil, nil, args end
    if is_args(args) then return args, nil, nil end
    return nil, args, nil
  end
  -- (name, args, opts) with no handler, (name, args, fn) or (name, opts, fn)
  if type(opts) == "table" then return args, opts, nil end
  if is_args(args) then return args, nil, opts end
  return nil, args, opts
end

local compile_args

--- kp.tracepoint("group:event", [args,] [opts,] fn): args, { name =
--- "FETCHARG[:TYPE]" }, are read at each hit by a BPF program kpscript
--- generates (or an event probe, opts.backend = "eprobe")
function M.tracepoint(name, args, opts, fn)
  args, opts, fn = tp_signature(args, opts, fn)
  if type(name) ~= "string" then
    fail(2, "kp.tracepoint: argument 1 must be a string 'group:event', got %s", type(name))
  end
  local sys, ev = name:match("^tracepoint:([%w_]+):([%w_]+)$")
  if not sys then sys, ev = name:match("^([%w_]+):([%w_]+)$") end
  if not sys then
    fail(2, "kp.tracepoint: '%s' is not of the form 'group:event' (e.g. 'sched:sched_process_exec')", name)
  end
  local argstr, btf = compile_args("kp.tracepoint", args, true)
  opts = check_opts("kp.tracepoint", opts)
  if opts.backend and argstr == "" and #btf == 0 then
    fail(2, "kp.tracepoint: opts.backend is for a tracepoint with fetch arguments")
  end
  check_fn("kp.tracepoint", fn, 3)
  local key = "tp|" .. sys .. ":" .. ev .. "|" .. argstr .. "|" .. btf_key(btf) .. "|" .. optkey(opts)
  local p = obtain(key, function() return core.tracepoint(sys, ev, argstr, opts, fn, btf) end)
  return declared(p, fn, "kp.tracepoint")
end

-- args: { name = "FETCHARG[:TYPE]", ... } -> "name=FETCHARG ..." sorted by name
local RESERVED = check.BUILTIN

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
function compile_args(fname, args, btf_ok)
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
  local p = obtain(key, function() return core.uprobe(path, sym, off, ret, argstr, opts, fn) end)
  return declared(p, fn, fname)
end

--- kp.uprobe("PATH:SYMBOL[+OFF]" | "PATH:0xOFFSET", args, [opts,] fn)
function M.uprobe(spec, args, opts, fn)
  local p = uprobe("kp.uprobe", false, spec, args, opts, fn)
  return p
end
--- kp.uretprobe(...): as kp.uprobe, on function return ($retval)
function M.uretprobe(spec, args, opts, fn)
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
        check.where(), fname, f))
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
  local key = fname .. "|" .. table.concat(list, ",") .. "|" .. argstr .. "|" .. btf_key(btf)
    .. "|" .. optkey(opts)
  local p = obtain(key, function()
    stack_order(fname, ret, list, opts)
    return core.kprobe(list, ret, argstr, opts, fn, maxactive, btf)
  end)
  return declared(p, fn, fname)
end

--- kp.kprobe(SYMBOL[+OFF] | { candidates }, args, [opts,] fn)
function M.kprobe(sym, args, opts, fn)
  local p = kprobe("kp.kprobe", false, sym, args, opts, fn)
  return p
end

--- kp.kretprobe(SYMBOL | { candidates }, args, [opts,] fn); opts.maxactive
function M.kretprobe(sym, args, opts, fn)
  local p = kprobe("kp.kretprobe", true, sym, args, opts, fn)
  return p
end

--- kp.probe("p:SYMBOL[+OFF] ARGS..." | "r[N]:SYMBOL ARGS...", [opts,] fn): a raw
--- kprobe_events definition; kpscript chooses the group and event names.
function M.probe(def, opts, fn)
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
  local p = obtain(key, function()
    stack_order("kp.probe", ret, list, opts)
    return core.kprobe(list, ret, rest, opts, fn, opts.maxactive)
  end)
  return declared(p, fn, "kp.probe")
end


return M
