-- kp.output: what kpscript writes for a script: kp.emit's records (JSON
-- Lines with -o json, else key=value lines), alerts' envelopes, kp.json.
local core = require "kp.core"
local check = require "kp.check"
local stack = require "kp.stack"
check.own()

local M = {}
local fail = check.fail

local cjson = require "cjson"
cjson.encode_sparse_array(true)
cjson.encode_max_depth(32)
cjson.encode_invalid_numbers("null")

local BUILTIN = check.BUILTIN
local HOST = core.hostname() or "?"
M.HOST = HOST

-- -o json? (the run's settings are read once)
local json_mode
function M.is_json()
  if json_mode == nil then json_mode = core.config().format == "json" end
  return json_mode
end

-- A value JSON can carry exactly: kernel strings are bytes, so a string that
-- is not UTF-8 becomes { base64 = "..." }; 64-bit cdata becomes a number
-- when a double holds it exactly, else a string of its decimal digits.
local function jsonable(v, depth)
  local t = type(v)
  if stack.is_stack(v) then return stack.frames(v) end
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

function M.rfc3339(t)
  local s, ns = core.walltime(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. string.format(".%09dZ", ns)
end

local function is_event(t)
  return getmetatable(t) ~= nil and t.probe ~= nil and t.pid ~= nil and t.time ~= nil
end

-- The process context of an event, where the host knows it.
local function proc_of(pid)
  if type(pid) == "number" then return core.proc(pid) end
end

function M.envelope(kind, ev, extra)
  local rec = { time = M.rfc3339(ev and ev.time or nil), host = HOST, kind = kind }
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

function M.write_record(rec)
  if M.is_json() then
    io.stdout:write(M.json(rec), "\n")
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
function M.emit(t, extra)
  if type(t) ~= "table" then fail(2, "kp.emit: argument 1 must be a table, got %s", type(t)) end
  if extra ~= nil and type(extra) ~= "table" then
    fail(2, "kp.emit: argument 2 must be a table, got %s", type(extra))
  end
  local rec
  if is_event(t) then
    rec = M.envelope("event", t, extra)
  else
    rec = M.envelope("event", nil, t)
    if extra then for k, v in pairs(extra) do rec.fields[k] = v end end
  end
  M.write_record(rec)
end

--- kp.json(v): v as one line of JSON, with kpscript's rules for bytes and
--- 64-bit values
function M.json(v) return (cjson.encode(jsonable(v, 0)):gsub('"\\u0000KPNUM(%-?%d+)"', "%1")) end

return M
