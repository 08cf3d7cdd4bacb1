-- Recorded in the guest (kprobes, BTF names), replayed on the host by
-- tests/vm/host/90_record.sh: the two outputs must be the same.
kp.kprobe("do_sys_openat2", { "dfd", "filename", "how->flags" }, function(e)
  if e.filename:find("kpvm%-rec") then
    print(string.format("OPEN %s %d %s %d %s", e.comm, e.dfd, e.filename, e.flags, e.probe))
  end
end)
kp.kretprobe("do_sys_openat2", { "$retval" }, function(e)
  if e.comm == "openat" then print(string.format("RET %s %d", e.comm, e.retval)) end
end)
kp.tracepoint("sched:sched_process_exec", function(e)
  if e.filename:find("openat$") then
    print(string.format("EXEC %s %s parent=%s", e.comm, e.filename,
      tostring(e.proc and e.proc.parent and e.proc.parent.comm)))
  end
end)
-- a kernel stack: its first frame is evened out from the recorded
-- __kp_fn, so the replay gives the live run's numbers whatever the host's
-- kallsyms say
kp.kprobe("do_sys_openat2", { f = "+0(%si):string" }, { stack = "kernel" }, function(e)
  if e.f:find("kpvm%-rec") then
    print(string.format("STACK %s %d %s %s", e.comm, e.stack.nkernel, tostring(e.stack[1]),
      tostring(e.__probe_ip)))
  end
end)
