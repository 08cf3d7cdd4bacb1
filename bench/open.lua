-- bench/open.lua: the kpscript side of the open benchmark (issue 16):
-- sys_enter_openat of the -c command, with the path read by the BPF
-- backend's program ("bpf", the default) or the plain tracepoint with no
-- fetch argument ("plain": e.filename is the pointer, a number).
--
--   taskset -c 1 build/kpscript -c "exec build/bench/gen -c 0 -o PATH 5" bench/open.lua [bpf|plain]
--
-- Prints what bench/getppid.lua prints (first_delivery_realtime_ns,
-- "delivered N lost N"), for bench/run.sh.
local ffi = require "ffi"
ffi.cdef [[
struct bench_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct bench_timespec *ts);
]]

local mode = arg[1] or "bpf"
local PROBE = "tracepoint:syscalls:sys_enter_openat"
local n, last, target, first = 0, nil, nil, nil

local function on_event(e)
  if e.pid == target then
    n = n + 1
    last = e.path or e.filename
  elseif target == nil then
    local ts = ffi.new("struct bench_timespec")
    ffi.C.clock_gettime(0, ts) -- CLOCK_REALTIME
    first = string.format("%d%09d", tonumber(ts.tv_sec), tonumber(ts.tv_nsec))
    target = kp.cpid()
    if e.pid == target then
      n = n + 1
      last = e.path or e.filename
    end
  end
end

if mode == "bpf" then
  kp.tracepoint("syscalls:sys_enter_openat", { path = "+0($filename):ustring" }, on_event)
else
  kp.tracepoint("syscalls:sys_enter_openat", on_event)
end

kp.run()

local st = kp.counters()[PROBE]
if first then print("first_delivery_realtime_ns " .. first) end
print(string.format("delivered %d lost %d", n, st.lost))
print(string.format("detail mode %s events %d filtered %d faults %s target %s last %s", mode,
  st.events, st.filtered, tostring(st.faults), tostring(target), tostring(last)))
