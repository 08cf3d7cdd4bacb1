-- kp.stack: stacks (ev.stack, userdata of the host's kp.Stack type) as
-- names: kp.ksym, kp.usym, kp.frames.
local core = require "kp.core"
local check = require "kp.check"
check.own()

local M = {}
local fail = check.fail
--- M.is_stack(v): is v a stack (ev.stack)?
M.is_stack = core.is_stack

--- kp.ksym(addr | stack): a kernel address as "func+0x1a" (from
--- /proc/kallsyms); a stack's kernel frames as a list, innermost first
function M.ksym(x)
  if x == nil then fail(2, "kp.ksym: argument 1 must be an address or a stack, got nil") end
  local ok, r = pcall(core.ksym, x)
  if not ok then fail(2, "kp.ksym: %s", (tostring(r):gsub("^bad argument #1 to '%?' ", ""))) end
  return r
end

--- kp.usym(pid, addr | stack) or kp.usym(stack): a user address of a
--- process as "func+0x1a" (from the ELF symbols of its mapped files); a
--- stack's user frames as a list, innermost first
function M.usym(pid, x)
  local ok, r
  if M.is_stack(pid) then
    ok, r = pcall(core.usym, pid)
  else
    if type(pid) ~= "number" then
      fail(2, "kp.usym: argument 1 must be a pid or a stack, got %s", type(pid))
    end
    if x == nil then fail(2, "kp.usym: argument 2 must be an address or a stack, got nil") end
    ok, r = pcall(core.usym, pid, x)
  end
  if not ok then fail(2, "kp.usym: %s", (tostring(r):gsub("^bad argument #%d to '%?' ", ""))) end
  return r
end

--- kp.frames(stack): every frame of a stack, innermost first: kernel
--- frames, then user frames
function M.frames(st)
  if not M.is_stack(st) then fail(2, "kp.frames: argument 1 must be a stack, got %s", type(st)) end
  local out = core.ksym(st)
  for _, f in ipairs(core.usym(st)) do out[#out + 1] = f end
  return out
end

return M
