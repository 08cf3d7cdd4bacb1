-- The house rules of host/ and lua/ (docs/DESIGN.md, "The map"), checked
-- on the sources: sizes, which way includes point, who owns what. Run from
-- the top of the tree: luajit tests/unit/layout.lua
local MAX_C_LINES, MAX_LUA_LINES, MAX_FN_LINES = 800, 420, 120

-- the modules with no I/O of their own: fed bytes by the tests
local PURE = { "err", "near", "file", "format", "decode", "perf_parse", "maps", "agg",
  "record_write", "record_read", "comm", "proc", "proc_parse", "fetch", "bpf_gen", "bpf_listing", "bpf_emit", "bpf_filter" }
-- of those, the ones the issue names: each has a unit test or a fuzzer
local TESTED = { "format", "decode", "perf_parse", "maps", "agg", "record_write", "record_read",
  "comm", "proc", "proc_parse", "fetch", "bpf_gen", "bpf_listing", "bpf_emit", "bpf_filter" }
-- headers of code that touches the kernel, the host, or Lua
local NOT_PURE = { "lua.h", "lauxlib.h", "lualib.h", "kp_tracefs.h", "kp_perf.h", "kp_ring.h",
  "kp_procfs.h", "kp_host.h", "kp_host_int.h", "kp_usym.h", "kp_elf.h", "kp_ksyms.h", "kp_btf.h",
  "kp_features.h", "kp_lua.h", "kp_bpf.h", "kp_ftrace.h" }
-- the engine: probes, sources, the recording tap; never Lua
local ENGINE_PREFIX = { "kp_probe", "kp_source_", "kp_record_tap", "kp_merge", "kp_bpf" }
local LUA_HEADERS = { "lua.h", "lauxlib.h", "lualib.h" }

local passed, failed = 0, 0
local function check(ok, name, why)
  if ok then
    passed = passed + 1
    print("ok - layout: " .. name)
  else
    failed = failed + 1
    print("not ok - layout: " .. name .. ": " .. why)
  end
end

-- one rule over many files: one line, naming every file that breaks it
local function rule(name)
  local r = { bad = {}, n = 0 }
  function r.each(ok, what) r.n = r.n + 1; if not ok then r.bad[#r.bad + 1] = what end end
  function r.done() check(#r.bad == 0, name .. " (" .. r.n .. " checked)", table.concat(r.bad, "; ")) end
  return r
end

local function lines_of(path)
  local f = assert(io.open(path, "rb"))
  local t = {}
  for l in f:lines() do t[#t + 1] = l end
  f:close()
  return t
end

local function ls(pattern)
  local p = assert(io.popen("ls " .. pattern .. " 2>/dev/null"))
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  return t
end

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local csrc, hsrc, luasrc = ls("host/*.c"), ls("host/*.h"), ls("lua/*.lua")
check(#csrc > 20 and #luasrc > 5, "the sources are found", #csrc .. " C files, " .. #luasrc .. " Lua files")

-- ---- sizes ----
local over500, r = {}, rule("no C file over " .. MAX_C_LINES .. " lines")
for _, list in ipairs({ csrc, hsrc }) do
  for _, f in ipairs(list) do
    local n = #lines_of(f)
    r.each(n <= MAX_C_LINES, f .. ": " .. n)
    if n > 500 then over500[#over500 + 1] = f .. " (" .. n .. ")" end
  end
end
r.done()
print("# over 500 lines: " .. (#over500 > 0 and table.concat(over500, ", ") or "none"))
r = rule("no Lua file over " .. MAX_LUA_LINES .. " lines")
for _, f in ipairs(luasrc) do
  local n = #lines_of(f)
  r.each(n <= MAX_LUA_LINES, f .. ": " .. n)
end
r.done()

-- C functions: from a "{" alone in column 0 to the next "}" in column 0
local longest, where = 0, "?"
r = rule("no C function over " .. MAX_FN_LINES .. " lines")
for _, f in ipairs(csrc) do
  local t, start = lines_of(f), nil
  for i, l in ipairs(t) do
    if l == "{" then
      start = i
    elseif l == "}" and start then
      local n = i - start + 1
      local name = (t[start - 1] or ""):match("([%w_]+)%s*%(") or (t[start - 2] or ""):match("([%w_]+)%s*%(") or "?"
      if n > longest then longest, where = n, f .. ":" .. name end
      r.each(n <= MAX_FN_LINES, f .. ": " .. name .. ": " .. n)
      start = nil
    end
  end
end
r.done()
print("# the longest C function: " .. where .. ", " .. longest .. " lines")

-- ---- includes ----
-- module = file name without .c/.h; an edge for every "kp_*.h" included
local incs = {} -- file -> { header, ... }
for _, list in ipairs({ csrc, hsrc }) do
  for _, f in ipairs(list) do
    local t = {}
    for _, l in ipairs(lines_of(f)) do
      local h = l:match('^#include%s+"([%w_]+%.h)"') or l:match("^#include%s+<([%w_/]+%.h)>")
      if h then t[#t + 1] = h end
    end
    incs[f:match("([^/]+)$")] = t
  end
end
local deps = {}
for file, list in pairs(incs) do
  local m = file:match("^(.-)%.[ch]$")
  deps[m] = deps[m] or {}
  for _, h in ipairs(list) do
    local hm = h:match("^(kp_[%w_]+)%.h$")
    if hm and hm ~= m then deps[m][hm] = true end
  end
end
-- a cycle, by depth-first search
local color, cycle = {}, nil
local function dfs(u, path)
  color[u] = 1
  path[#path + 1] = u
  local vs = {}
  for v in pairs(deps[u] or {}) do vs[#vs + 1] = v end
  table.sort(vs)
  for _, v in ipairs(vs) do
    if color[v] == 1 and not cycle then
      local c, on = {}, false
      for _, x in ipairs(path) do
        if x == v then on = true end
        if on then c[#c + 1] = x end
      end
      c[#c + 1] = v
      cycle = table.concat(c, " -> ")
    elseif not color[v] then
      dfs(v, path)
    end
  end
  path[#path] = nil
  color[u] = 2
end
local mods = {}
for m in pairs(deps) do mods[#mods + 1] = m end
table.sort(mods)
for _, m in ipairs(mods) do if not color[m] then dfs(m, {}) end end
check(cycle == nil, "no include cycle between modules (" .. #mods .. " modules)", tostring(cycle))

-- every header a file reaches through host/ headers
local function closure(file)
  local seen, stack = {}, { file }
  while #stack > 0 do
    local f = table.remove(stack)
    for _, h in ipairs(incs[f] or {}) do
      if not seen[h] then
        seen[h] = true
        if incs[h] then stack[#stack + 1] = h end
      end
    end
  end
  return seen
end

local bad = set(NOT_PURE)
r = rule("the pure modules (" .. table.concat(PURE, ", ") .. ") include no Lua, kernel or host header")
for _, m in ipairs(PURE) do
  for _, ext in ipairs({ ".c", ".h" }) do
    local file = "kp_" .. m .. ext
    if incs[file] then
      local reached = {}
      for h in pairs(closure(file)) do if bad[h] then reached[#reached + 1] = h end end
      table.sort(reached)
      r.each(#reached == 0, file .. " reaches " .. table.concat(reached, ", "))
    end
  end
end
r.done()

local luah = set(LUA_HEADERS)
r = rule("the engine (kp_probe*, kp_source_*, kp_record_tap, kp_merge) includes no Lua header")
for _, f in ipairs(csrc) do
  local file = f:match("([^/]+)$")
  for _, pre in ipairs(ENGINE_PREFIX) do
    if file:sub(1, #pre) == pre then
      local reached = {}
      for h in pairs(closure(file)) do if luah[h] then reached[#reached + 1] = h end end
      r.each(#reached == 0, file .. " reaches " .. table.concat(reached, ", "))
    end
  end
end
r.done()

-- each pure module the issue names is exercised by a unit test or fuzzer:
-- one of the functions its .c defines is called there
local tests = ""
for _, f in ipairs(ls("tests/unit/*.c tests/unit/*.h tests/fuzz/*.c")) do
  tests = tests .. table.concat(lines_of(f), "\n") .. "\n"
end
r = rule("the pure modules a test or fuzzer feeds (" .. table.concat(TESTED, ", ") .. ")")
for _, m in ipairs(TESTED) do
  local called = {}
  for _, l in ipairs(lines_of("host/kp_" .. m .. ".c")) do
    local fn = l:match("^[%a][%w_ %*]-[%s%*](kp_[%w_]+)%(")
    if fn and not l:match("^static") and tests:find(fn .. "(", 1, true) then called[#called + 1] = fn end
  end
  r.each(#called > 0, "no test calls a function kp_" .. m .. ".c defines")
end
r.done()

-- ---- who owns what ----
-- every metatable has one owner file
local owners = {}
for _, f in ipairs(csrc) do
  for _, l in ipairs(lines_of(f)) do
    local mt = l:match('luaL_newmetatable%(L,%s*"([^"]+)"') or l:match("luaL_newmetatable%(L,%s*([%w_]+)%)")
    if mt then
      owners[mt] = owners[mt] or {}
      owners[mt][f] = true
    end
  end
end
r = rule("every metatable has one owner file")
for mt, files in pairs(owners) do
  local n, list = 0, {}
  for f in pairs(files) do n = n + 1; list[#list + 1] = f end
  table.sort(list)
  r.each(n == 1, mt .. " is made in " .. table.concat(list, ", "))
end
r.done()
-- and the Lua side changes none of them
r = rule("lua/ reaches no metatable the host made (no debug.getregistry)")
for _, f in ipairs(luasrc) do
  r.each(not table.concat(lines_of(f), "\n"):find("getregistry", 1, true), f)
end
r.done()

-- no C file calls into Lua by a global's name: globals are read only while
-- the state opens (functions named *_open), before any script runs
r = rule("no C file reads a Lua global at run time (only while the state opens, in *_open)")
for _, f in ipairs(csrc) do
  local fn, found = "?", {}
  for i, l in ipairs(lines_of(f)) do
    fn = l:match("^[%a][%w_ %*]-[%s%*]([%w_]+)%(") or fn
    if (l:find("lua_getglobal", 1, true) or l:find("LUA_GLOBALSINDEX", 1, true)) and not fn:match("_open$") then
      found[#found + 1] = fn .. ":" .. i
    end
  end
  r.each(#found == 0, f .. " in " .. table.concat(found, ", "))
end
r.done()

io.write(string.format("# %d passed, %d failed\n", passed, failed))
os.exit(failed == 0 and 0 or 1)
