-- bench/callgrind.lua: instructions per event, counted by callgrind (which
-- does not depend on what else the machine runs):
--
--   valgrind --tool=callgrind build/kpscript \
--     -c "taskset -c 0 build/progs/gen_getppid 200000 /dev/null" bench/callgrind.lua
--
-- Counts the getppid events and reads one field. The rings are large
-- (16384 pages) so that nothing is lost while valgrind slows the reader.
local n, last = 0, nil
kp.tracepoint("syscalls:sys_enter_getppid", { pages = 16384 }, function(e)
  n = n + 1
  last = e.__syscall_nr
end)
kp.run()
local st = kp.counters()["tracepoint:syscalls:sys_enter_getppid"]
print(string.format("delivered %d lost %d", n, st.lost))
