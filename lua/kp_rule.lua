-- kp.rule: detections as data, an alert when an event of a probe passes
-- a condition, and kp.counters(), which reports them with the probes.
local core = require "kp.core"
local check = require "kp.check"
local output = require "kp.output"
local probe = require "kp.probe"
local latency = require "kp.latency"
check.own()

local M = {}
local fail = check.fail
local P = probe.state

local SEVERITIES = { info = true, low = true, medium = true, high = true, critical = true }
local RULE_KEYS = { name = true, on = true, when = true, severity = true, message = true,
  fields = true }
-- The rules of the version being loaded; --watch's reload swaps the whole.
M.state = {
  rules = {}, -- name -> rule
  rules_of = setmetatable({}, { __mode = "k" }), -- probe -> { rule, ... }
}
local S = M.state
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
      local rec = output.envelope("alert", ev, nil)
      if r.fields then rec.fields = fields end
      rec.rule, rec.severity, rec.message = r.name, r.severity, tostring(msg)
      output.write_record(rec)
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

--- M.dispatcher(p): the handler of probe p that runs its own handler and
--- then its rules
function M.dispatcher(p)
  local list = S.rules_of[p]
  local fn = P.handlers[p]
  return function(ev)
    if fn then fn(ev) end
    for i = 1, #list do run_rule(list[i], ev) end
  end
end

--- kp.rule{ name, on, when, severity, message, fields }: an alert when an
--- event of `on` (a probe or a list of probes) passes `when`; an error in
--- one rule is reported with its name and does not stop the others
function M.rule(spec)
  if type(spec) ~= "table" then fail(2, "kp.rule: argument 1 must be a table, got %s", type(spec)) end
  for k in pairs(spec) do
    if not RULE_KEYS[k] then fail(2, "kp.rule: unknown key '%s' (keys: fields, message, name, on, severity, when)", tostring(k)) end
  end
  if type(spec.name) ~= "string" or spec.name == "" then
    fail(2, "kp.rule: name must be a non-empty string, got %s", type(spec.name))
  end
  if S.rules[spec.name] then fail(2, "kp.rule: a rule named '%s' exists", spec.name) end
  local on = spec.on
  if on ~= nil and getmetatable(on) ~= nil and probe.is_probe(on) then on = { on } end
  if type(on) ~= "table" or #on == 0 then
    fail(2, "kp.rule: on must be a probe or a list of probes (from kp.tracepoint, kp.kprobe...), got %s", type(spec.on))
  end
  for _, p in ipairs(on) do
    if not probe.is_probe(p) then fail(2, "kp.rule: on must be a probe or a list of probes, got a %s in the list", type(p)) end
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
  S.rules[r.name] = r
  for _, p in ipairs(on) do
    local list = S.rules_of[p]
    if not list then
      list = {}
      S.rules_of[p] = list
      if not P.staging then core.set_handler(p, M.dispatcher(p)) end
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
  for _, l in ipairs(latency.latencies) do
    if l.name == k then return l.counts() end
  end
  local r = type(k) == "string" and S.rules[k:match("^rule:(.+)$") or ""]
  if r then return { evaluated = r.evaluated, alerts = r.alerts, errors = r.errors } end
end }
function M.counters()
  return setmetatable(core.stats(), StatsMeta)
end

return M
