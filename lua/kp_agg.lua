-- kp.agg: aggregates (kp.count, kp.sum, kp.stats, kp.hist, kp.lhist; the
-- tables are the host's kp.Agg userdata) and how they print, as bpftrace
-- prints its maps: kp.print, and every aggregate at exit.
local core = require "kp.core"
local check = require "kp.check"
local output = require "kp.output"
local stack = require "kp.stack"
check.own()

local M = {}
local fail, check_keys = check.fail, check.check_keys
local is_stack = stack.is_stack

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
    if not check.is_own(info.source) and info.what ~= "C" then
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
function M.count(opts) return new_agg("kp.count", "count", opts) end
--- kp.sum([name | opts]): keyed sums; a:add(key, n) adds n.
function M.sum(opts) return new_agg("kp.sum", "sum", opts) end
--- kp.stats([name | opts]): count, sum, min, max and avg per key;
--- a:add(key, n) or a[key] = n records n.
function M.stats(opts)
  -- (before aggregates, kp.stats() gave the probes' counters: now kp.counters())
  return new_agg("kp.stats", "stats", opts)
end
--- kp.hist([name | opts]): power-of-two histograms, as bpftrace hist()
function M.hist(opts) return new_agg("kp.hist", "hist", opts) end
--- kp.lhist(min, max, step [, name | opts]): linear histograms, as
--- bpftrace lhist(); values below min and from max up get a bucket each
function M.lhist(min, max, step, opts)
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
  if is_stack(k) then return stack.frames(k) end
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
function M.print(a, opts)
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
  if output.is_json() then
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
    local line = output.json({ time = output.rfc3339(), host = output.HOST, kind = "aggregate",
      name = name, type = kind, dropped = dropped, entries = entries })
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

--- M.atexit(): print every aggregate that still holds keys, unless made
--- with print = false, as bpftrace prints its maps (the host calls it
--- however the run ends)
function M.atexit()
  local first = true
  for _, e in ipairs(aggs) do
    if e.print and (#e.a > 0 or select(3, core.agg_info(e.a)) > 0) then
      if first and not output.is_json() then io.stdout:write("\n") end
      first = false
      M.print(e.a)
    end
  end
end

return M
