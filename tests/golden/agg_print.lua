-- Aggregates printed at exit and by kp.print, compared byte for byte with
-- agg_print.out (tests/golden/run.sh). Run with --dry-run: no kernel.
local opens = kp.count()
local bytes = kp.sum("bytes")
local st = kp.stats { name = "lat" }
local h = kp.hist()
local lh = kp.lhist(0, 100, 10, "pct")
local quiet = kp.count { name = "quiet", print = false }
local capped = kp.count { name = "capped", cap = 3 }
local empty = kp.hist("empty")
local none = kp.count("none")
none:add()
none:add(nil)
none:add()

for i = 1, 5 do opens:add("bash") end
for i = 1, 3 do opens:add("nginx worker") end
opens:add("top") -- a key named like a method
opens[{ 1234, "sshd" }] = 7
opens[-1] = 2
opens[2 ^ 60] = 1
bytes:add({ "read", 3 }, 4096)
bytes:add({ "read", 3 }, 100)
bytes:add({ "write", 1 }, -50)
for _, v in ipairs { 3, 1, 4, 1, 5, 9, 2, 6 } do st:add("x", v) end
st["neg"] = -7
for i = 0, 99 do h:add(i) end
h:add(-3)
h:add(0)
for _, v in ipairs { -5, 0, 9, 10, 55, 99, 100, 1000 } do lh:add(v) end
quiet:add("never printed")
for _, k in ipairs { "a", "b", "c", "d", "e", "a" } do capped:add(k) end
empty:add("k", 1)
empty:clear()

print("-- top 2")
kp.print(opens, { top = 2 })
print("-- folded")
kp.print(bytes, { folded = true })
print("-- get")
print(opens.bash, opens:get("top"), opens.nobody, #opens, capped:dropped())
print(st.x.count, st.x.sum, st.x.min, st.x.max, st.x.avg)
local b = {}
for k, v in h:sorted() do
  for _, bk in ipairs(v) do b[#b + 1] = (bk.min or "-inf") .. ".." .. (bk.max or "inf") .. "=" .. bk.count end
end
print(table.concat(b, " "))
print("-- sorted")
for k, v in opens:sorted() do
  io.write(type(k) == "table" and table.concat(k, "/") or tostring(k), "=", tostring(v), " ")
end
print()
for k, v in opens:top(3) do
  io.write(type(k) == "table" and table.concat(k, "/") or tostring(k), "=", v, " ")
end
print()
opens["top"] = nil
opens.bash = opens.bash + 10
print("-- at exit")
