-- Misuse of the kp API raises an error naming the function, the argument and
-- the caller's line. Run with `kpscript --dry-run` (no kernel is touched).
local failures = 0
local function expect(name, fn, pattern)
  local ok, err = pcall(fn)
  if ok then
    print("not ok - api: " .. name .. ": no error raised")
    failures = failures + 1
  elseif not tostring(err):find(pattern) then
    print("not ok - api: " .. name .. ": error '" .. tostring(err) .. "' lacks '" .. pattern .. "'")
    failures = failures + 1
  else
    print("ok - api: " .. name)
  end
end
local function f() end
local here = "api_errors.lua:%d+:"

expect("tracepoint name type", function() kp.tracepoint(42, f) end, "kp.tracepoint: argument 1 must be a string")
expect("tracepoint name form", function() kp.tracepoint("sched_switch", f) end, "not of the form 'group:event'")
expect("tracepoint handler type", function() kp.tracepoint("sched:sched_switch", {}, 42) end, "must be a function")
expect("tracepoint opts type", function() kp.tracepoint("sched:sched_switch", 5, f) end, "opts must be a table")
expect("tracepoint unknown opt", function() kp.tracepoint("sched:sched_switch", { filtr = "x" }, f) end, "unknown option 'filtr'")
expect("tracepoint opt type", function() kp.tracepoint("sched:sched_switch", { pages = "8" }, f) end, "opts.pages must be a number")
expect("error names the caller's line", function() kp.tracepoint(42, f) end, here)
expect("uprobe spec type", function() kp.uprobe(nil, {}, f) end, "kp.uprobe: argument 1 must be a string")
expect("uprobe spec form", function() kp.uprobe("/bin/true", {}, f) end, "not of the form 'PATH:SYMBOL")
expect("uprobe bad target", function() kp.uprobe("/bin/true:12abc", {}, f) end, "is not a symbol")
expect("uprobe args type", function() kp.uprobe("/bin/true:main", "x", f) end, "args must be a table")
expect("uprobe arg name", function() kp.uprobe("/bin/true:main", { ["1x"] = "%di" }, f) end, "not an identifier")
expect("uprobe arg value", function() kp.uprobe("/bin/true:main", { a = 5 }, f) end, "args.a must be a fetch argument")
expect("uprobe arg with space", function() kp.uprobe("/bin/true:main", { a = "%di :u32" }, f) end, "no spaces")
expect("uprobe reserved name", function() kp.uprobe("/bin/true:main", { pid = "%di" }, f) end, "reserved")
expect("uprobe handler type", function() kp.uprobe("/bin/true:main", {}, {}, "x") end, "must be a function")
expect("uretprobe no handler", function() kp.uretprobe("/bin/true:main", {}, {}, 7) end, "kp.uretprobe: argument 4 must be a function")
expect("uprobe missing binary", function() kp.uprobe("/nonexistent/bin:main", {}, f) end, "binary '/nonexistent/bin' not found")
expect("uprobe unknown symbol", function() kp.uprobe("build/progs/uprobe_target:kp_target_itn", {}, f) end, "close names: kp_target_int")
expect("every interval", function() kp.every("x", f) end, "kp.every: argument 1")
expect("every zero", function() kp.every(0, f) end, "kp.every: argument 1")
expect("every handler", function() kp.every(10, 10) end, "must be a function")
expect("pages not power of two", function() kp.tracepoint("sched:sched_switch", { pages = 3 }, f) end, "power of two")
expect("pages zero", function() kp.tracepoint("sched:sched_switch", { pages = 0 }, f) end, "power of two")
expect("pages negative", function() kp.tracepoint("sched:sched_switch", { pages = -8 }, f) end, "power of two")
expect("pages huge", function() kp.tracepoint("sched:sched_switch", { pages = 2^40 }, f) end, "power of two")
expect("wakeup zero", function() kp.tracepoint("sched:sched_switch", { wakeup = 0 }, f) end, "opts.wakeup")

expect("kprobe symbol type", function() kp.kprobe(7, {}, f) end, "kp.kprobe: argument 1 must be a kernel function name")
expect("kprobe bad symbol", function() kp.kprobe("do sys", {}, f) end, "is not a kernel function name")
expect("kprobe empty list", function() kp.kprobe({}, {}, f) end, "list of candidate functions is empty")
expect("kretprobe with offset", function() kp.kretprobe("do_sys_openat2+4", {}, f) end, "without %+OFF")
expect("kprobe maxactive", function() kp.kprobe("do_sys_openat2", {}, { maxactive = 4 }, f) end, "maxactive is for kretprobes")
expect("kretprobe maxactive range", function() kp.kretprobe("do_sys_openat2", {}, { maxactive = 5000 }, f) end, "from 1 to 4096")
expect("kprobe unknown symbol", function() kp.kprobe("do_sys_opnat2", {}, f) end, "close names: do_sys_openat2")
expect("kprobe no candidate exists", function() kp.kprobe({ "kp_nope_a", "kp_nope_b" }, {}, f) end, "none of the kernel functions kp_nope_a, kp_nope_b exists")
expect("probe type", function() kp.probe(5, f) end, "kp.probe: argument 1 must be")
expect("probe form", function() kp.probe("x:do_sys_openat2", f) end, "is not 'p:SYMBOL")
expect("probe with group", function() kp.probe("p:grp/ev do_sys_openat2", f) end, "leave out GROUP/EVENT")
expect("probe maxactive on entry", function() kp.probe("p5:do_sys_openat2", f) end, "MAXACTIVE is for return probes")
expect("has unknown feature", function() kp.has("teleport") end, "unknown feature 'teleport'")
expect("has type", function() kp.has(1) end, "kp.has: argument 1")
expect("offsetof types", function() kp.offsetof(1, 2) end, "kp.offsetof: arguments")

expect("rule needs a table", function() kp.rule("x") end, "kp.rule: argument 1 must be a table")
expect("rule needs a name", function() kp.rule{ on = kp.tracepoint("sched:sched_switch") } end, "kp.rule: name must be")
expect("rule needs on", function() kp.rule{ name = "r" } end, "kp.rule: on must be a probe")
expect("rule on a non-probe", function() kp.rule{ name = "r", on = { 5 } } end, "kp.rule: on must be a probe")
expect("rule when type", function() kp.rule{ name = "r", on = kp.tracepoint("sched:sched_switch"), when = 3 } end, "kp.rule: when must be a function")
expect("rule severity", function() kp.rule{ name = "r", on = kp.tracepoint("sched:sched_switch"), severity = "meh" } end, "kp.rule: severity must be one of")
expect("rule duplicate", function() kp.rule{ name = "dup", on = kp.tracepoint("sched:sched_switch") } kp.rule{ name = "dup", on = kp.tracepoint("sched:sched_switch") } end, "kp.rule: a rule named 'dup' exists")
expect("rule unknown key", function() kp.rule{ name = "r2", on = kp.tracepoint("sched:sched_switch"), sevrity = "high" } end, "kp.rule: unknown key 'sevrity'")
expect("emit needs a table", function() kp.emit(5) end, "kp.emit: argument 1 must be a table")

-- and the good forms do not raise
local ok, err = pcall(function()
  kp.tracepoint("sched:sched_switch", f)
  kp.tracepoint("tracepoint:sched:sched_switch", { filter = "prev_pid == 1", pages = 8 }, f)
  kp.uprobe("build/progs/uprobe_target:kp_target_int", { a = "%di:s32" }, f)
  kp.uprobe("build/progs/uprobe_target:kp_target_int+4", {}, f)
  kp.uretprobe("build/progs/uprobe_target:kp_target_int", { r = "$retval" }, {}, f)
  kp.uprobe("build/progs/uprobe_target:0x1000", nil, f)
  kp.kprobe("do_sys_openat2", { dfd = "%di:s32" }, f)
  kp.kprobe({ "kp_nope_a", "do_sys_openat2" }, {}, { filter = "dfd == 3" }, f)
  kp.kretprobe("do_sys_openat2", { r = "$retval:s32" }, { maxactive = 16 }, f)
  kp.probe("r8:do_sys_openat2 r=$retval:s32", f)
  kp.tracepoint("sched:sched_switch")
  kp.rule{ name = "ok-rule", on = kp.tracepoint("sched:sched_switch"), when = function() return false end,
    severity = "high", message = "{comm} switched", fields = { "prev_pid" } }
end)
print((ok and "ok" or "not ok") .. " - api: good declarations accepted" .. (ok and "" or (": " .. tostring(err))))
if not ok then failures = failures + 1 end
if failures > 0 then os.exit(1) end
