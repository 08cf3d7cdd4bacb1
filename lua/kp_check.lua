-- kp.check: how the Lua API blames a script line and checks what it is
-- given. Errors kpscript raises for a declaration (misuse, or a probe the
-- kernel cannot create) are one line naming the script line; they are
-- tables so the top level prints them without a traceback. tostring()
-- gives the text.
local core = require "kp.core"
local bit = require "bit"

local M = {}

local KpError = {}
KpError.__index = KpError
KpError.__tostring = function(e) return e.msg end

-- The sources of kpscript's own Lua files: the place to blame is the first
-- caller outside them.
local OWN = {}

--- M.own(): the calling file is one of kpscript's own
function M.own() OWN[debug.getinfo(2, "S").source] = true end
M.own()

--- M.is_own(source): is a frame of this source kpscript's own?
function M.is_own(source) return OWN[source] == true end

-- The first frame outside kpscript's files and not in C, or nil.
local function outside()
  for level = 3, 60 do
    local info = debug.getinfo(level, "Sl")
    if not info then return nil end
    if not OWN[info.source] and info.what ~= "C" then return info end
  end
end

--- M.where(): "FILE:LINE: " of the script line that called into kp, or ""
function M.where()
  local info = outside()
  if info and info.currentline and info.currentline > 0 then
    return info.short_src .. ":" .. info.currentline .. ": "
  end
  return ""
end

--- M.caller(): where the script declared something, "FILE:LINE" or "?"
function M.caller()
  local info = outside()
  return info and info.short_src .. ":" .. (info.currentline or 0) or "?"
end

--- M.error(msg): kpscript's error value for msg, as raised
function M.error(msg) return setmetatable({ msg = msg, kp_error = true }, KpError) end

--- M.raise(msg): raise msg, naming the script line
function M.raise(msg) error(M.error(M.where() .. msg), 0) end

--- M.fail(level, fmt, ...): raise a formatted message (the level is kept
--- for readers of the call sites; the script line is found by walking)
function M.fail(_, fmt, ...) M.raise(string.format(fmt, ...)) end
local fail = M.fail

--- The handler may be left out: the probe's events are then counted, and
--- kp.rule can act on them.
function M.check_fn(fname, fn, pos)
  if fn ~= nil and type(fn) ~= "function" then
    fail(3, "%s: argument %d must be a function (the event handler), got %s", fname, pos, type(fn))
  end
end

--- M.check_keys(fname, opts, spec): the keys of an options table against
--- SPEC { name = "lua type" }: an unknown name (a typo) or a value of the
--- wrong type is an error. A type SPEC gives as "any" is left to the
--- caller's own check.
function M.check_keys(fname, opts, spec)
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

-- The options every probe takes: the one place they are checked (the host
-- reads them as given).
local PROBE_OPTS = { filter = "string", pages = "number", wakeup = "number", maxactive = "number",
  stack = "any", backend = "string" }
M.PROBE_OPTS = PROBE_OPTS

--- M.check_opts(fname, opts): a probe's options table, checked ({} for nil)
function M.check_opts(fname, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    fail(3, "%s: opts must be a table, got %s", fname, type(opts))
  end
  M.check_keys(fname, opts, PROBE_OPTS)
  local v = opts.stack
  if v ~= nil and v ~= true and v ~= false and v ~= "kernel" and v ~= "user" and v ~= "both" then
    fail(3, "%s: opts.stack must be true, \"kernel\", \"user\" or \"both\", got %s", fname,
      type(v) == "string" and '"' .. v .. '"' or type(v))
  end
  if opts.backend ~= nil and opts.backend ~= "bpf" and opts.backend ~= "eprobe" then
    fail(3, "%s: opts.backend must be \"bpf\" or \"eprobe\", got \"%s\"", fname, opts.backend)
  end
  local pages, most = opts.pages, core.max_pages
  if pages ~= nil and (pages < 1 or pages > most or pages % 1 ~= 0
      or bit.band(pages, pages - 1) ~= 0) then
    fail(3, "%s: opts.pages must be a power of two from 1 to %d, got %s", fname, most,
      tostring(pages))
  end
  local wakeup = opts.wakeup
  if wakeup ~= nil and (wakeup < 1 or wakeup > 1e6 or wakeup % 1 ~= 0) then
    fail(3, "%s: opts.wakeup must be a whole number of events from 1 to 1000000, got %s",
      fname, tostring(wakeup))
  end
  return opts
end

-- The names kpscript sets on every event (ev.pid, ...), as the host lists
-- them: a set.
M.BUILTIN = {}
for _, name in ipairs(core.builtins()) do M.BUILTIN[name] = true end

return M
