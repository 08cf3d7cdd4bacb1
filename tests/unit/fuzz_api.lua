-- Random input through the Lua API's parsers, run with `kpscript --dry-run`
-- (nothing reaches the kernel): fetch-argument tables of uprobes, BTF paths
-- of kprobes (compiled against this machine's vmlinux BTF by the C
-- compiler), probe options, aggregate keys and values, lhist layouts.
-- Every call must either succeed or fail with kpscript's own error (a one-
-- line message naming the caller's line); an error from inside kpscript's
-- library (a Lua bug: "attempt to index a nil value" in lua/kp.lua) or a
-- crash fails the test. The generator is seeded, so a failure repeats.
local T = arg[1] or "build/progs/uprobe_target"
local N = tonumber(arg[2]) or 3000
local seed = 12345
local function rnd(n) -- 1..n, a linear congruential generator (repeatable)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n + 1
end
local function pick(t) return t[rnd(#t)] end

local TOKENS = { "%di", "%si", "%dx", "%cx", "%r8", "%ax", "%sp", "%zz", "+", "-", "0", "8", "16",
  "0x10", "(", ")", ":", "u8", "u16", "u32", "u64", "s32", "s64", "x64", "string", "ustring",
  "symbol", "$retval", "$stack", "$stack1", "$comm", "@", "+u", "b4@0/32", "[", "]", "->", ".",
  "new", "cred", "uid", "val", "usage", "euid", "filename", "name", "\0", "\255", " ", "'", "\"" }
local function fetcharg()
  local parts = {}
  for i = 1, rnd(6) do parts[i] = pick(TOKENS) end
  return table.concat(parts)
end
local BTF = { "new", "->", "uid", ".", "val", "euid", "usage", "cap_effective", "user_ns", "$retval",
  "[", "0", "]", "security", "session_keyring", "fsuid", "->", "->", ".", "x", "_" }
local function btfpath()
  local parts = {}
  for i = 1, rnd(7) do parts[i] = pick(BTF) end
  return table.concat(parts)
end
local function value()
  local k = rnd(9)
  if k == 1 then return nil elseif k == 2 then return rnd(2) == 1 elseif k == 3 then return rnd(1000) - 500
  elseif k == 4 then return (rnd(1000) - 500) / 7 elseif k == 5 then return fetcharg()
  elseif k == 6 then return {} elseif k == 7 then return { fetcharg(), rnd(9) }
  elseif k == 8 then return print else return 2 ^ rnd(70) end
end

local bad, n, clean = {}, 0, 0
local function try(what, fn)
  n = n + 1
  local ok, err = pcall(fn)
  if ok then return end
  local msg = type(err) == "table" and tostring(err.msg or err) or tostring(err)
  -- kpscript's errors name the caller (this file), never its library
  if msg:find("fuzz_api.lua:%d+:") and not msg:find("lua/kp%.lua") then
    clean = clean + 1
  elseif #bad < 5 then
    bad[#bad + 1] = what .. ": " .. msg
  end
end

local f = function() end
for i = 1, N do
  local case = rnd(6)
  if case == 1 then
    local args = {}
    for _ = 1, rnd(4) do
      local k = rnd(4) == 1 and rnd(3) or ("a" .. rnd(50))
      args[k] = rnd(8) == 1 and value() or fetcharg()
    end
    try("uprobe args", function() kp.uprobe(T .. ":kp_target_int", args, f) end)
  elseif case == 2 then
    local args = { x = btfpath() }
    if rnd(3) == 1 then args[1] = btfpath() end
    try("kprobe BTF path " .. args.x, function() kp.kprobe("commit_creds", args, f) end)
  elseif case == 3 then
    local opts = {}
    for _ = 1, rnd(3) do
      opts[pick { "filter", "pages", "wakeup", "stack", "maxactive", "nope" }] = value()
    end
    try("options", function() kp.tracepoint("sched:sched_switch", opts, f) end)
  elseif case == 4 then
    local a = pick { kp.count, kp.sum, kp.stats, kp.hist }({ print = false })
    try("aggregate add", function() a:add(value(), value()) end)
    try("aggregate index", function() local _ = a[value()] end)
    try("aggregate set", function() a[value()] = value() end)
  elseif case == 5 then
    try("lhist", function() kp.lhist(value(), value(), value(), { print = false }) end)
  else
    try("uprobe spec", function() kp.uprobe(T .. ":" .. fetcharg(), {}, f) end)
  end
end

if #bad == 0 then
  print(string.format("ok - fuzz_api: %d random calls, %d refused with kpscript's own error, none "
    .. "failed inside the library", n, clean))
else
  for _, b in ipairs(bad) do print("not ok - fuzz_api: " .. b) end
end
os.exit(#bad == 0 and 0 or 1)
