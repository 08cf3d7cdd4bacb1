-- bench/getppid.lua: the kpscript side of the pipeline benchmark.
--
--   taskset -c 1 build/kpscript -c "exec build/bench/gen -c 0 5" bench/getppid.lua
--
-- Counts the sys_enter_getppid events of the -c command (the generator: sh
-- execs it, so it keeps the child's pid) in a Lua callback that reads two
-- fields, e.pid and the format field e.__syscall_nr. The target pid comes
-- from kp.cpid(), fetched once at the first event delivered (the child is
-- forked inside kp.run() before any event is delivered);
-- build/bench/reader -c gets the same information the same way (the pid of
-- its -c child) and compares it with each sample's pid.
--
-- At the end it prints what build/bench/reader prints:
--   first_delivery_realtime_ns N   (CLOCK_REALTIME when the first event of
--                                   any pid reached the callback)
--   delivered N lost N
local ffi = require "ffi"
ffi.cdef [[
struct bench_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct bench_timespec *ts);
]]

local PROBE = "tracepoint:syscalls:sys_enter_getppid"
local n, last, target, first = 0, nil, nil, nil

kp.tracepoint("syscalls:sys_enter_getppid", function(e)
  if e.pid == target then
    n = n + 1
    last = e.__syscall_nr
  elseif target == nil then
    -- once: the first event delivered
    local ts = ffi.new("struct bench_timespec")
    ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME
    first = string.format("%d%09d", tonumber(ts.tv_sec), tonumber(ts.tv_nsec))
    target = kp.cpid()
    if e.pid == target then
      n = n + 1
      last = e.__syscall_nr
    end
  end
end)

kp.run()

local st = kp.counters()[PROBE]
if first then print("first_delivery_realtime_ns " .. first) end
print(string.format("delivered %d lost %d", n, st.lost))
print(string.format("detail events %d filtered %d bad_fields %d target %s last_nr %s",
  st.events, st.filtered, st.bad_fields, tostring(target), tostring(last)))
