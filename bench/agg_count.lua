-- bench/agg_count.lua: the kpscript side of the count() comparison with
-- bpftrace (bench/agg.sh, kind kp_count).
--
--   taskset -c 1 build/kpscript -c "exec build/bench/gen -c 0 5" bench/agg_count.lua
--
-- One counter per comm over every sys_enter_getppid event on the machine,
-- like bpftrace's
--
--   tracepoint:syscalls:sys_enter_getppid { @[comm] = count(); }
--
-- Named "@" so that it prints at exit exactly as bpftrace prints that map
-- (@[gen]: N). Before that it prints what bench/getppid.lua prints:
--   delivered N lost N     (events delivered to the handler; kernel losses)
--
-- An optional argument sets the ring size per CPU in pages (opts.pages;
-- default 256, 1 MiB): bench/agg_count.lua 4096 gives 16 MiB.
local PROBE = "tracepoint:syscalls:sys_enter_getppid"
local pages = tonumber((...))
local c = kp.count { name = "@" }

kp.tracepoint("syscalls:sys_enter_getppid", pages and { pages = pages } or {}, function(e)
  c:add(e.comm)
end)

kp.run()

local st = kp.counters()[PROBE]
print(string.format("delivered %d lost %d", st.events, st.lost))
print(string.format("detail events %d filtered %d bad_fields %d keys %d dropped %d",
  st.events, st.filtered, st.bad_fields, #c, c:dropped()))
