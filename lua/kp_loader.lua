-- kp.loader: the standard functions kpscript replaces before a script
-- runs: os.exit (an exit request, so that cleanup runs), and loadfile,
-- dofile and require (trust-checked, kept out of the JIT under the
-- callback guard). M.install() replaces them once.
local core = require "kp.core"

local M = {}

function M.install()
  -- os.exit() must not skip kpscript's cleanup (it would leave probes in the
  -- kernel): it raises an exit request that the host turns into the exit
  -- status after removing every probe.
  local KpExit = { __tostring = function(e) return "os.exit(" .. tostring(e.code) .. ")" end }
  os.exit = function(code)
    if code == true or code == nil then code = 0 elseif code == false then code = 1 end
    error(setmetatable({ kp_exit = true, code = tonumber(code) or 1 }, KpExit), 0)
  end

  -- Run as root, a Lua file someone else could change is someone else's
  -- code: loadfile, dofile and require refuse such files (core.trust says
  -- why) unless --allow-unsafe-script. main.c checks the script itself.
  -- The callback guard needs script code interpreted (LuaJIT's compiled
  -- loops call no hook): code loaded through these stays out of the JIT too,
  -- as main.c does for the script itself.
  do
    local raw_loadfile = loadfile
    local guarded = core.config().callback_limit > 0
    local function nojit(chunk)
      if guarded and type(chunk) == "function" then jit.off(chunk, true) end
      return chunk
    end
    loadfile = function(path, ...)
      if path ~= nil then
        local ok, why = core.trust(path)
        if not ok then return nil, why end
      end
      local chunk, err = raw_loadfile(path, ...)
      return nojit(chunk), err
    end
    dofile = function(path)
      if path ~= nil then
        local ok, why = core.trust(path)
        if not ok then error(why, 2) end
      end
      local chunk, err = raw_loadfile(path)
      if not chunk then error(err, 2) end
      return nojit(chunk)()
    end
    local function guard(loader, pathvar, lua)
      return function(name)
        local path = package.searchpath(name, package[pathvar])
        if path then
          local ok, why = core.trust(path)
          if not ok then return "\n\t" .. why end
        end
        local r = loader(name)
        if lua then nojit(r) end
        return r
      end
    end
    package.loaders[2] = guard(package.loaders[2], "path", true)
    package.loaders[3] = guard(package.loaders[3], "cpath", false)
  end
end

return M
