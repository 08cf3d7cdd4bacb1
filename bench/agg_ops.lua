-- bench/agg_ops.lua: the raw cost of kpscript's aggregate operations, with
-- no probe and no event: each operation N times in a loop, CPU time from
-- os.clock() around the loop, minus nothing (the empty loop is reported as
-- its own row). Run by bench/agg.sh:
--
--   taskset -c 1 build/kpscript bench/agg_ops.lua [N [ROUNDS]]
--
-- N defaults to 10,000,000 and ROUNDS to 5. Each round runs every
-- operation once, the order rotated by one per round. One line per
-- measurement:  op ROUND NAME ns_per_op X  (X: total of the values read,
-- printed so that nothing is optimised away and the counts can be checked)
--
-- A call to a C function through the Lua C API (every a:add, a[k]) cannot
-- be compiled by LuaJIT: a loop containing one runs in the interpreter.
-- So the plain-table rows are given twice, compiled (the JIT on, as in a
-- handler that does nothing else) and interpreted (jit.off on that
-- function), which is the fair comparison for the interpreter's share.
local N = tonumber(arg and arg[1]) or 10000000
local ROUNDS = tonumber(arg and arg[2]) or 5

local COMM = "kworker/u4:1-ev" -- 15 characters, the longest comm

local ops = {}
local function op(name, make)
  ops[#ops + 1] = { name = name, make = make }
end

-- make() builds fresh state and returns the loop and a check value reader

op("empty_loop", function()
  local x = 0
  return function(n) for i = 1, n do x = x + 1 end end, function() return x end
end)

op("lua_table_incr", function()
  local t = {}
  return function(n)
    local k = "x"
    for i = 1, n do t[k] = (t[k] or 0) + 1 end
  end, function() return t.x end
end)

op("lua_table_incr_nojit", function()
  local t = {}
  local f = function(n)
    local k = "x"
    for i = 1, n do t[k] = (t[k] or 0) + 1 end
  end
  jit.off(f)
  return f, function() return t.x end
end)

op("lua_log2_hist_nojit", function()
  -- a log2 bucket index in plain Lua (frexp's exponent), interpreted
  local t, frexp = {}, math.frexp
  local f = function(n)
    for i = 1, n do
      local _, e = frexp(i)
      t[e] = (t[e] or 0) + 1
    end
  end
  jit.off(f)
  return f, function()
    local s = 0
    for _, v in pairs(t) do s = s + v end
    return s
  end
end)

op("count_add_str", function()
  local c = kp.count { print = false }
  return function(n) for i = 1, n do c:add("x") end end, function() return c.x end
end)

op("count_add_comm15", function()
  local c = kp.count { print = false }
  return function(n) for i = 1, n do c:add(COMM) end end, function() return c:get(COMM) end
end)

op("count_add_str_cached", function()
  -- the method looked up once: c:add goes through the C __index each time
  local c = kp.count { print = false }
  local add = c.add
  return function(n) for i = 1, n do add(c, "x") end end, function() return c.x end
end)

op("count_add_num", function()
  local c = kp.count { print = false }
  return function(n) for i = 1, n do c:add(7) end end, function() return c[7] end
end)

op("count_add_nil", function()
  local c = kp.count { print = false }
  return function(n) for i = 1, n do c:add(nil) end end, function() return c[nil] end
end)

op("count_add_tuple", function()
  -- a new table per call, as c:add({ e.comm, e.pid }) makes
  local c = kp.count { print = false }
  return function(n) for i = 1, n do c:add({ "x", 7 }) end end,
    function() return c:get({ "x", 7 }) end
end)

op("count_read", function()
  local c = kp.count { print = false }
  c:add("x")
  local s = 0
  return function(n) for i = 1, n do s = s + c.x end end, function() return s end
end)

op("count_incr_index", function()
  -- c[k] = c[k] + 1: read and write through the metatable
  local c = kp.count { print = false }
  return function(n) for i = 1, n do c.x = c.x + 1 end end, function() return c.x end
end)

op("hist_add", function()
  local h = kp.hist { print = false }
  return function(n) for i = 1, n do h:add(i) end end, function() return h[nil].count end
end)

op("hist_add_key", function()
  local h = kp.hist { print = false }
  return function(n) for i = 1, n do h:add("x", i) end end, function() return h.x.count end
end)

-- warm up: every op once on a small n (traces, allocations of the first key)
for _, o in ipairs(ops) do
  local f = o.make()
  f(1000)
end

for r = 1, ROUNDS do
  for j = 0, #ops - 1 do
    local o = ops[(j + r - 1) % #ops + 1]
    local f, check = o.make()
    collectgarbage()
    local t0 = os.clock()
    f(N)
    local t1 = os.clock()
    print(string.format("op\t%d\t%s\t%.1f\t%s", r, o.name, (t1 - t0) / N * 1e9,
      tostring(check())))
  end
end
