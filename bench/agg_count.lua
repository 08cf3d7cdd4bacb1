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
local PROBE = "tracepoint:syscalls:sys_enter_getppid"
local c = kp.count { name = "@" }

kp.tracepoint("syscalls:sys_enter_getppid", function(e)
  c:add(e.comm)
end)

kp.run()

local st = kp.counters()[PROBE]
print(string.format("delivered %d lost %d", st.events, st.lost))
print(string.format("detail events %d filtered %d bad_fields %d keys %d dropped %d",
  st.events, st.filtered, st.bad_fields, #c, c:dropped()))
