-- bench/agg_hist.lua: the kpscript side of the hist() comparison with
-- bpftrace (bench/agg.sh, kind kp_hist).
--
--   taskset -c 1 build/kpscript -c "exec build/bench/gen -c 0 5" bench/agg_hist.lua
--
-- A log2 histogram, without key, of each sys_enter_getppid event's
-- timestamp modulo 1 ms, like bpftrace's
--
--   tracepoint:syscalls:sys_enter_getppid { @ = hist(nsecs % 1000000); }
--
-- e.time is the sample's CLOCK_MONOTONIC time in ns; bpftrace's nsecs is
-- bpf_ktime_get_ns(), the same clock, read a few instructions later. The
-- values are not the same event by event, but both are spread evenly over
-- [0, 1 ms), so the bucket shares agree (about half the samples in
-- [512K, 1M)) and the total is exactly the number of events. The value
-- changes with every event, unlike pid or comm, so every bucket is used.
--
-- Named "@" so that it prints at exit as bpftrace prints @. Before that it
-- prints "delivered N lost N" (events delivered to the handler; kernel
-- losses).
local PROBE = "tracepoint:syscalls:sys_enter_getppid"
local h = kp.hist { name = "@" }

kp.tracepoint("syscalls:sys_enter_getppid", function(e)
  h:add(e.time % 1000000)
end)

kp.run()

local st = kp.counters()[PROBE]
local v = h[nil]
print(string.format("delivered %d lost %d", st.events, st.lost))
print(string.format("detail events %d filtered %d bad_fields %d samples %d",
  st.events, st.filtered, st.bad_fields, v and v.count or 0))
