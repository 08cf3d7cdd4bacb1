-- funclatency.lua: how long a function takes, as a histogram.
--
--   sudo kpscript funclatency.lua do_sys_openat2          # a kernel function
--   sudo kpscript funclatency.lua /usr/bin/bash:readline  # a function of a program
--   sudo kpscript funclatency.lua libc:malloc 1            # print and reset every second
--   sudo kpscript -p 1234 funclatency.lua PATH:FUNC        # one process
--
-- Arguments: TARGET [INTERVAL_SECONDS] [us|ms]. TARGET is a kernel function
-- (kprobe + kretprobe: needs a kernel with kprobes) or PATH:FUNC (uprobe +
-- uretprobe); "libc" stands for this machine's C library. Times are per
-- call, from the entry to the return of the same thread, in nanoseconds
-- unless a unit is given. At exit (Ctrl-C, -d, or -c's command ending) the
-- histogram still holding calls is printed; with an interval, each one is
-- printed and cleared as it ends.
--
-- The pattern in three lines, for a script of your own:
--   local lat = kp.hist()
--   kp.latency("do_sys_openat2", function(ev, ns) lat:add(ns) end)
--   kp.run()
local target, interval, unit = arg[1], tonumber(arg[2]), arg[3]
if not target then
  io.stderr:write("usage: kpscript funclatency.lua FUNC|PATH:FUNC [INTERVAL_SECONDS] [us|ms]\n")
  os.exit(2)
end
if arg[2] and not interval then unit, interval = arg[2], nil end
local div = ({ ns = 1, us = 1000, ms = 1000000 })[unit or "ns"]
if not div then
  io.stderr:write("funclatency.lua: unit '" .. tostring(unit) .. "' is not ns, us or ms\n")
  os.exit(2)
end

local path, func = target:match("^(.+):([^:]+)$")
if path == "libc" then
  -- the C library the system's programs load
  for _, p in ipairs { "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/lib/libc.so.6" } do
    local f = io.open(p)
    if f then f:close(); target = p .. ":" .. func; break end
  end
end

local lat = kp.hist((func or target) .. "_" .. (unit or "ns"))
local calls = 0
kp.latency(target, function(_, ns)
  lat:add(math.floor(ns / div))
  calls = calls + 1
end)

if interval then
  kp.every(interval * 1000, function()
    io.write(os.date("%H:%M:%S"), "\n")
    kp.print(lat)
    lat:clear()
  end)
end
io.stderr:write(string.format("Tracing %s (%s). Ctrl-C to end.\n", target, unit or "ns"))
kp.run()
local c = kp.counters()["latency:" .. target]
if c and (c.unmatched > 0 or c.dropped > 0) then
  io.stderr:write(string.format("%d returns had no entry (the call began before tracing), "
    .. "%d entries never returned\n", c.unmatched, c.dropped))
end
