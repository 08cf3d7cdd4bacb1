-- kp.reload: --watch's live reload. A new version of the script is loaded
-- in a fresh global environment; probes it declares the same way as the
-- running version keep their kernel probe and rings (nothing is lost),
-- others are added, the rest removed. A version that fails leaves the old
-- one running: the state of the declarations and rules is snapshotted
-- before and restored after.
local core = require "kp.core"
local probe = require "kp.probe"
local rule = require "kp.rule"

local M = {}
local P, R = probe.state, rule.state

--- M.RELOADED: raised by kp.run() in a reloaded version: its load is done
M.RELOADED = {}
local RELOADED = M.RELOADED

-- The globals a reloaded version starts from: those of a fresh state, with
-- kp (M.snapshot(), before the first version runs)
local BASE = {}
function M.snapshot()
  for k, v in pairs(_G) do BASE[k] = v end
end

-- The fields of each state a version owns, in a snapshot.
local function snapshot()
  return { handlers = P.handlers, unhandled = P.unhandled, rules = R.rules,
    rules_of = R.rules_of }
end

local function restore(s)
  P.handlers, P.unhandled, R.rules, R.rules_of = s.handlers, s.unhandled, s.rules, s.rules_of
end

--- M.reload(kp, path, ...): load the version of the script at path.
--- Returns true, summary | false, error.
function M.reload(kp, path, ...)
  local chunk, err = loadfile(path)
  if not chunk then return false, err end
  -- as main.c does for the first version: the callback guard needs the
  -- script's functions interpreted (LuaJIT's compiled loops call no hook)
  if core.config().callback_limit > 0 then jit.off(chunk, true) end
  local env = setmetatable({ kp = kp, arg = { [0] = path, ... } }, { __index = BASE })
  setfenv(chunk, env)
  local saved = snapshot()
  local mark = core.timer_count()
  restore({ handlers = setmetatable({}, { __mode = "k" }), unhandled = {}, rules = {},
    rules_of = setmetatable({}, { __mode = "k" }) })
  P.current, P.claimed, P.staging = {}, {}, true
  local ok, e = xpcall(chunk, function(x)
    if x == RELOADED then return x end
    if type(x) == "table" then return x end
    return debug.traceback(x, 2)
  end, ...)
  if not ok and e == RELOADED then ok = true end
  P.staging = false
  if ok then
    for _, u in ipairs(P.unhandled) do
      if not R.rules_of[u.p] then
        ok, e = false, string.format("%s: %s: %s has no handler function and no kp.rule uses it",
          u.where, u.fname, u.p.name)
        break
      end
    end
  end
  if not ok then
    -- drop what the failed version created, keep the running one
    for key, p in pairs(P.current) do
      if not P.claimed[key] then p:close() end
    end
    core.timers_drop(mark, core.timer_count())
    restore(saved)
    P.current, P.claimed = {}, {}
    return false, type(e) == "table" and tostring(e) or e
  end
  local kept, added, removed = 0, 0, 0
  for key, p in pairs(P.current) do
    if P.claimed[key] then kept = kept + 1 else added = added + 1 end
    core.set_handler(p, R.rules_of[p] and rule.dispatcher(p) or P.handlers[p] or nil)
  end
  for key, p in pairs(P.pool) do
    if not P.claimed[key] then
      p:close()
      removed = removed + 1
    end
  end
  core.timers_drop(0, mark)
  P.pool, P.current, P.claimed = P.current, {}, {}
  local lost = 0
  for _, st in pairs(core.stats()) do lost = lost + st.lost end
  return true, string.format("kept %d, added %d, removed %d probes (%d events lost so far)",
    kept, added, removed, lost)
end

return M
