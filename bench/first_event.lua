-- bench/first_event.lua: time from exec to the first event, kpscript side.
--
--   build/kpscript -c "exec build/bench/gen -n 1" bench/first_event.lua
--
-- Stops (kp.stop()) at the first sys_enter_getppid event of a process named
-- "gen" and prints CLOCK_REALTIME at that moment as
-- "first_event_realtime_ns N"; bench/run.sh subtracts the time it exec'd
-- kpscript. The comm and not kp.cpid() picks the event because a one-call
-- generator has exited, and been reaped, before the drain that delivers its
-- event, when kp.cpid() is nil again.
local ffi = require "ffi"
ffi.cdef [[
struct bench_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct bench_timespec *ts);
]]
local ts = ffi.new("struct bench_timespec")

kp.tracepoint("syscalls:sys_enter_getppid", function(e)
  if e.comm == "gen" then
    ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME
    print(string.format("first_event_realtime_ns %d%09d pid %d nr %d",
      tonumber(ts.tv_sec), tonumber(ts.tv_nsec), e.pid, e.__syscall_nr))
    kp.stop()
  end
end)
