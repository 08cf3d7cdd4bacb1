#!/bin/sh
# Order: events of three probes on all CPUs are delivered as one stream in
# time order. For each of 50 children of forkexec, sched_process_fork
# (its creation), sched_process_exec and sched_process_exit arrive in that
# order, each exactly once; and ev.time never decreases across everything
# delivered (all processes, all CPUs).
. tests/live/lib.sh
need_live order

F=$PROGS/forkexec
need_prog order "$F"
N=50

cat >"$TMP/order.lua" <<'EOF'
local kids_file = arg[1]
local seq = {}      -- pid -> "F", "FE", "FEX" as events arrive
local nevents, backwards, first_back = 0, 0, nil
local last = nil
local ffi = require "ffi"
local function t64(v) return ffi.cast("uint64_t", v) end
local function see(e)
  nevents = nevents + 1
  local t = t64(e.time)
  if last and t < last then
    backwards = backwards + 1
    first_back = first_back or string.format("%s at %s after %s", e.probe, tostring(t), tostring(last))
  end
  last = t
end
kp.tracepoint("sched:sched_process_fork", function(e)
  see(e)
  local c = e.child_pid
  seq[c] = (seq[c] or "") .. "F"
end)
kp.tracepoint("sched:sched_process_exec", function(e)
  see(e)
  seq[e.pid] = (seq[e.pid] or "") .. "E"
end)
kp.tracepoint("sched:sched_process_exit", function(e)
  see(e)
  -- a thread's exit is not its process's: only the group leader counts
  if e.tid == e.pid then seq[e.pid] = (seq[e.pid] or "") .. "X" end
end)
kp.run()

local kids, good, bad = 0, 0, {}
for line in io.lines(kids_file) do
  local pid = tonumber(line)
  if pid then
    kids = kids + 1
    if seq[pid] == "FEX" then
      good = good + 1
    else
      bad[#bad + 1] = pid .. ":" .. tostring(seq[pid])
    end
  end
end
print("kids " .. kids)
print("good " .. good)
print("bad " .. table.concat(bad, " ", 1, math.min(#bad, 8)))
print("events " .. nevents)
print("backwards " .. backwards .. " " .. tostring(first_back))
local lost = 0
for _, s in pairs(kp.counters()) do lost = lost + s.lost end
print("lost " .. lost)
EOF

kp_run -c "$F $N >$TMP/kids" "$TMP/order.lua" "$TMP/kids"
exits "order: run exits 0" 0
check "order: forkexec started $N children (got $(val kids))" [ "$(val kids)" = "$N" ]
check "order: no event lost (got $(val lost))" [ "$(val lost)" = 0 ]
check "order: every child's fork < exec < exit, each once ($(val good) of $N; wrong: $(val bad))" \
	[ "$(val good)" = "$N" ]
bw=$(val backwards)
check "order: ev.time never decreases over all $(val events) events (${bw:-no result})" \
	[ "${bw%% *}" = 0 ]
none_left order
