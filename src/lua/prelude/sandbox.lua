-- A limit error must end the script: whoever catches an error re-raises it when the run has hit a limit.
local function recheck(ok, ...)
  if not ok then
    local limit = kv_limit()
    if limit then error(limit, 0) end
  end
  return ok, ...
end

pcall = function(f, ...) return recheck(raw_pcall(f, ...)) end
-- A message handler runs before the stack unwinds; for an error raised by the hook, Lua runs it with hooks off, so
-- it must never see a limit error (it could loop forever unchecked): the limit error goes straight through.
xpcall = function(f, handler, ...)
  local function guarded(e)
    if kv_limit() then return e end
    return handler(e)
  end
  return recheck(raw_xpcall(f, guarded, ...))
end
-- A host call parks the script: it yields PARKED up to the worker, which serves other scripts until the answer is
-- in, then resumes it with (status, text). That needs every level between the call and the run's own coroutine to
-- be able to yield: Lua tells for the current coroutine (not inside a C call such as a table.sort comparator or a
-- string.gsub callback), and `chain_parks` tells for the coroutines that resumed it. Where a yield is impossible
-- the call blocks the worker instead, as it always could. The script's own coroutines pass a parked call through.
local PARKED = setmetatable({}, { __metatable = 'locked' })
local chain_parks = true
local depth = 0 -- coroutines of the script currently resumed, one inside another

local function host_call(kind, a, b, c, payload)
  local parks = chain_parks and co_isyieldable()
  local status, text = kv_call(kind, a, b, c, payload, parks and 'park' or nil)
  if status == 'pending' then status, text = co_yield(PARKED) end
  return status, text
end

local function pass_parked(co, r)
  while r[1] and r[2] == PARKED and co_status(co) == 'suspended' do
    r = table_pack(co_resume(co, co_yield(PARKED)))
  end
  return r
end

local function resume(co, ...)
  local saved_parks, saved_depth = chain_parks, depth
  chain_parks = saved_parks and co_isyieldable()
  depth = saved_depth + 1
  local r = table_pack(co_resume(co, ...))
  if chain_parks then r = pass_parked(co, r) end
  chain_parks, depth = saved_parks, saved_depth
  return table_unpack(r, 1, r.n)
end

coroutine.resume = function(co, ...) return recheck(resume(co, ...)) end
coroutine.close = function(co) return recheck(co_close(co)) end
coroutine.wrap = function(f)
  local co = co_create(f)
  return function(...)
    local r = table_pack(resume(co, ...))
    if not r[1] then
      local limit = kv_limit()
      if limit then error(limit, 0) end
      -- As Lua's own wrap: close the dead coroutine (its to-be-closed variables), a string error gets the caller's
      -- position in front.
      co_close(co)
      error(r[2], type(r[2]) == 'string' and 2 or 0)
    end
    return table_unpack(r, 2, r.n)
  end
end
-- The script's main chunk runs in a coroutine of the worker's: to the script it is the main thread, as before.
coroutine.yield = function(...)
  if depth == 0 then error('attempt to yield from outside a coroutine', 2) end
  return co_yield(...)
end
coroutine.isyieldable = function(...)
  if select('#', ...) == 0 and depth == 0 then return false end
  return co_isyieldable(...)
end
coroutine.running = function()
  local co = co_running()
  return co, depth == 0
end

local protected = setmetatable({}, { __mode = 'k' })
_ENV.rawset = function(t, k, v)
  if protected[t] then error('cannot rawset on ' .. tostring(t) .. ': it is read-only', 2) end
  return rawset(t, k, v)
end

-- Runs f(...) protected; a limit error is re-raised, any other error comes back as ok=false, message.
local function try(f, ...)
  local ok, a = raw_pcall(f, ...)
  if not ok then
    local limit = kv_limit()
    if limit then error(limit, 0) end
    if type(a) ~= 'string' then a = tostring(a) end
  end
  return ok, a
end

local function encode_arg(display, value)
  local ok, text = try(json_encode_raw, value, 'argument')
  if not ok then error(display .. ': ' .. text, 3) end
  return text
end

local function decode_result(display, status, text)
  if status == 'ok' then
    local ok, value = try(json_decode_raw, text, nil)
    if not ok then error(display .. ': the host returned ' .. value, 3) end
    return value
  end
  if status == 'limit' then error(text, 0) end
  error(text, 3)
end

-- print, tostring and dump show a table's contents (see serialize), as KosmoKrator's sandbox does.
local function show(v)
  if type(v) == 'table' then return serialize(v) end
  return tostring(v)
end
local function emit(line)
  local limit = kv_print(line)
  if limit then error(limit, 0) end
end
print = function(...)
  local n = select('#', ...)
  local parts = {}
  for i = 1, n do parts[i] = show((select(i, ...))) end
  emit(table_concat(parts, '\t'))
end
_ENV.tostring = function(...)
  if select('#', ...) == 0 then error("bad argument #1 to 'tostring' (value expected)", 2) end
  return show((...))
end
-- dump(value): prints the value as print does and returns it, so it can wrap an expression.
_ENV.dump = function(...)
  local v = ...
  emit(show(v))
  return v
end

-- Levenshtein distance, for "did you mean".
local function distance(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev = {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    local cur = { [0] = i }
    local ca = string_byte(a, i)
    for j = 1, lb do
      local cost = ca == string_byte(b, j) and 0 or 1
      cur[j] = math_min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[lb]
end

local function suggest(name, candidates)
  if type(name) ~= 'string' then return nil end
  local best, best_d
  for i = 1, #candidates do
    local d = distance(string_lower(name), string_lower(candidates[i]))
    if best_d == nil or d < best_d then best, best_d = candidates[i], d end
  end
  if best and best_d <= math_max(2, #name // 3) then return best end
  return nil
end

local function sorted_keys(t)
  local out = {}
  for k in next, t do out[#out + 1] = k end
  table_sort(out)
  return out
end

-- A read-only view of contents: reads go to contents, writes fail, unknown keys call missing(key).
local function readonly(name, contents, missing)
  local proxy = {}
  protected[proxy] = true
  setmetatable(proxy, {
    __index = function(_, k)
      local v = contents[k]
      if v ~= nil then return v end
      v = missing(k) -- not a tail call: missing raises at level 3, the script's line
      return v
    end,
    __newindex = function(_, k) error(name .. ' is read-only (cannot set ' .. tostring(k) .. ')', 2) end,
    __pairs = function()
      local key
      return function()
        local value
        key, value = next(contents, key)
        return key, value
      end
    end,
    __tostring = function() return name end,
    __metatable = 'locked',
  })
  return proxy
end

local function key_name(k)
  if type(k) == 'string' then return k end
  return '[' .. tostring(k) .. ']'
end

local function plural(n, word) return n .. ' ' .. word .. (n == 1 and '' or 's') end

-- Positional arguments map onto the declared parameters in order, as in KosmoKrator; nil ones are left out.
local function positional(display, params, n, ...)
  if n > #params then
    if #params == 0 then
      error(display .. ' takes no parameters, got ' .. plural(n, 'positional argument') .. '; call it as ' .. display .. '()', 3)
    end
    error(display .. ' takes at most ' .. plural(#params, 'positional argument') .. ' (' .. table_concat(params, ', ')
      .. '), got ' .. n .. '; pass them in that order, or one table: ' .. display .. '({ ' .. params[1] .. ' = ... })', 3)
  end
  local args = {}
  for i = 1, n do
    local v = select(i, ...)
    if v ~= nil then args[params[i]] = v end
  end
  return args
end

local function make_function(integration, fn, account, display, params)
  return function(...)
    local args = ...
    if protected[args] then
      error(display .. ' is called with a dot, not a colon: ' .. display .. '({ ... })', 2)
    end
    local n = select('#', ...)
    if type(args) == 'table' then
      if n > 1 then error(display .. ' takes one table argument, got ' .. n .. ' arguments', 2) end
    elseif args == nil and n <= 1 then
      args = {}
    elseif params then
      args = positional(display, params, n, ...)
    else
      error(display .. ' takes one table argument, like ' .. display .. '({ ... }); got a ' .. type(args), 2)
    end
    local payload = encode_arg(display, args)
    local status, text = host_call('call', integration, fn, account, payload)
    local result = decode_result(display, status, text)
    return result
  end
end

local function install(namespaces_json)
  local namespaces = json_decode_raw(namespaces_json, nil)
  local integrations = {}
  for i = 1, #namespaces do
    local ns = namespaces[i]
    local integration = ns.integration
    local base = 'app.integrations.' .. integration
    local functions, names = {}, {}
    local parameters = ns.parameters or {}
    for _, fn in next, ns.functions do functions[fn] = fn end
    for alias, fn in next, ns.aliases do functions[alias] = fn end
    names = sorted_keys(functions)
    local real_names = {}
    for _, fn in next, ns.functions do real_names[#real_names + 1] = fn end
    table_sort(real_names)
    local accounts = { default = true }
    for _, a in next, ns.accounts do accounts[a] = true end
    local account_names = sorted_keys(accounts)

    local function bound(account, prefix)
      local t = {}
      for name, fn in next, functions do
        t[name] = make_function(integration, fn, account, prefix .. '.' .. name, parameters[fn])
      end
      return t
    end
    -- KosmoKrator's wording; it lists every function after "Did you mean:", here the nearest one when there is one.
    local function unknown(prefix, k, hint)
      return 'Unknown function: ' .. prefix .. '.' .. key_name(k) .. '. Did you mean: '
        .. (hint or table_concat(real_names, ', '))
    end
    local function unknown_function(prefix)
      return function(k) error(unknown(prefix, k, suggest(k, names)), 3) end
    end

    local contents = bound(nil, base)
    for account in next, accounts do
      if contents[account] == nil then
        local prefix = base .. '.' .. account
        contents[account] = readonly(prefix, bound(account, prefix), unknown_function(prefix))
      end
    end
    local everything = {}
    for _, n in next, names do everything[#everything + 1] = n end
    for _, n in next, account_names do everything[#everything + 1] = n end
    integrations[integration] = readonly(base, contents, function(k)
      local hint = suggest(k, everything)
      if hint then error(unknown(base, k, hint), 3) end
      -- Nothing close: likely an account nobody configured, so the host's words for adding it, with the name the
      -- script used (e.g. set VERO_NOSUCH_AUTH_TOKEN).
      local add = (type(k) == 'string' and type(ns.addAccount) == 'string')
        and ('. ' .. string_gsub(ns.addAccount, '<NAME>', function() return string_upper(k) end)) or ''
      error(unknown(base, k, nil) .. ' (accounts: ' .. table_concat(account_names, ', ') .. ')' .. add, 3)
    end)
  end
  local integration_names = sorted_keys(integrations)
  local integrations_view = readonly('app.integrations', integrations, function(k)
    local hint = suggest(k, integration_names)
    error('app.integrations.' .. key_name(k) .. ' is not an integration'
      .. (hint and ('; did you mean ' .. hint .. '?') or '.')
      .. ' Integrations: ' .. table_concat(integration_names, ', '), 3)
  end)
  app = readonly('app', { integrations = integrations_view }, function(k)
    if k == 'tools' or k == 'mcp' then
      error('app.' .. k .. ' is KosmoKrator\'s own (' .. (k == 'tools' and 'native tools' or 'MCP servers')
        .. ') and is not offered here; this sandbox reaches integrations only, under app.integrations (docs/kosmokrator.md)', 3)
    end
    error('app.' .. key_name(k) .. ' does not exist; integrations are under app.integrations', 3)
  end)
end

lua_read_doc = function(page)
  if type(page) ~= 'string' then error('lua_read_doc(page) takes a page name string; lua_list_docs() lists them', 2) end
  local result = decode_result('lua_read_doc', host_call('read_doc', page, nil, nil, nil))
  return result
end
lua_list_docs = function()
  local result = decode_result('lua_list_docs', host_call('list_docs', nil, nil, nil, nil))
  return result
end
lua_search_docs = function(query)
  if type(query) ~= 'string' then error('lua_search_docs(query) takes a search string', 2) end
  local result = decode_result('lua_search_docs', host_call('search_docs', query, nil, nil, nil))
  return result
end

-- KosmoKrator's headless spelling: the same host functions as lua_*_doc(s), answering with text.
docs = {
  read = function(page)
    if type(page) ~= 'string' then error('docs.read(page) takes a page name string; docs.list() lists them', 2) end
    local result = decode_result('docs.read', host_call('read_doc', page, nil, nil, nil))
    return result
  end,
  list = function()
    local pages = decode_result('docs.list', host_call('list_docs', nil, nil, nil, nil))
    local lines = { 'Lua doc pages (read one with docs.read(page)):' }
    for i = 1, #pages do
      local p = pages[i]
      lines[#lines + 1] = '- ' .. tostring(p.page) .. (p.title and (' — ' .. tostring(p.title)) or '')
    end
    return table_concat(lines, '\n')
  end,
  search = function(query)
    if type(query) ~= 'string' then error('docs.search(query) takes a search string', 2) end
    local hits = decode_result('docs.search', host_call('search_docs', query, nil, nil, nil))
    if #hits == 0 then return "No results found for '" .. query .. "'." end
    -- KosmoKrator's shape, "vero.track_event - <line>": the page as docs.read takes it, its first matching text line.
    local lines = {}
    for i = 1, #hits do
      local hit = hits[i]
      local about = hit.title
      local matches = type(hit.matches) == 'table' and hit.matches or {}
      for j = 1, #matches do
        local line = matches[j]
        if type(line) == 'string' and not string_find(line, '^#') then about = line break end
      end
      local page = tostring(hit.page)
      lines[i] = (string_match(page, '^integrations%.(.+)$') or page) .. (about and (' - ' .. tostring(about)) or '')
    end
    return table_concat(lines, '\n')
  end,
}

-- regex.*: PCRE-style patterns run by the worker (src/lua/regex.ts). Captures keep PHP's numbering, as in
-- KosmoKrator: the whole match at [0], capture 1 at [1], named groups also under their name.
local function regex_call(name, op, subject, pattern, replacement, limit)
  if type(subject) ~= 'string' then error('regex.' .. name .. ': expected string subject, got ' .. type(subject), 3) end
  if type(pattern) ~= 'string' then error('regex.' .. name .. ': expected string pattern, got ' .. type(pattern), 3) end
  local status, text = kv_regex(op, subject, pattern, replacement, limit)
  if status ~= 'ok' then
    local hit = kv_limit()
    if hit then error(hit, 0) end
    error('regex.' .. name .. ': ' .. text .. ' (pattern ' .. string_format('%q', pattern) .. ')', 3)
  end
  return json_decode_raw(text, nil)
end
local function groups(list, names)
  local t = {}
  for i = 1, #list do t[i - 1] = list[i] end
  for name, index in next, names do t[name] = list[index + 1] end
  return t
end
local function no_flags(name, flags)
  if flags ~= nil and flags ~= 0 then
    error('regex.' .. name .. ': the flags argument (PHP PREG_* constants) is not supported; put pattern flags after the delimiter, like "/x/i"', 3)
  end
end
regex = {
  match = function(subject, pattern, flags)
    no_flags('match', flags)
    local found = regex_call('match', 'match', subject, pattern)
    if found == nil then return nil end
    return groups(found[1], found[2])
  end,
  match_all = function(subject, pattern, flags)
    no_flags('match_all', flags)
    local found = regex_call('match_all', 'match_all', subject, pattern)
    return groups(found[1], found[2])
  end,
  gsub = function(subject, pattern, replacement, limit)
    if type(replacement) ~= 'string' then
      error('regex.gsub: expected string replacement, got ' .. type(replacement), 2)
    end
    if limit ~= nil and math_type(limit) ~= 'integer' then
      error('regex.gsub: limit must be an integer (-1 or nil for no limit), got ' .. tostring(limit), 2)
    end
    return regex_call('gsub', 'gsub', subject, pattern, replacement, limit and string_format('%d', limit))
  end,
}

json = {
  null = json_null,
  encode = function(value)
    local ok, text = try(json_encode_raw, value, 'value')
    if not ok then error('json.encode: ' .. text, 2) end
    return text
  end,
  decode = function(text, options)
    if type(text) ~= 'string' then error('json.decode takes a string, got a ' .. type(text), 2) end
    local null_value = nil
    if type(options) == 'table' and rawequal(options.null, json_null) then null_value = json_null end
    local ok, value = try(json_decode_raw, text, null_value)
    if not ok then error('json.decode: ' .. value, 2) end
    return value
  end,
  array = function(t)
    if t == nil then t = {} end
    if type(t) ~= 'table' then error('json.array takes a table, got a ' .. type(t), 2) end
    array_marks[t] = true
    return t
  end,
}
local real_os = os
os = { time = real_os.time, date = real_os.date, clock = real_os.clock, difftime = real_os.difftime }
io, debug, package, require, load, loadstring, dofile, loadfile, collectgarbage, warn = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
string.dump = nil
getmetatable('').__metatable = 'locked'

local function error_text(e)
  if type(e) == 'string' then return e end
  if type(e) == 'number' then return tostring(e) end
  local ok, s = raw_pcall(tostring, e)
  if ok and type(s) == 'string' and not string_find(s, '^%a+: 0x%x+$') and not string_find(s, '^%a+: %x+$') then return s end
  return '(error object is a ' .. type(e) .. ' value)'
end

local function run(chunk)
  local r = table_pack(raw_pcall(chunk))
  if not r[1] then return false, error_text(r[2]), 'error' end
  local value
  if r.n == 1 then return true, 'null' end
  if r.n == 2 then
    value = r[2]
  else
    value = {}
    for i = 2, r.n do
      local v = r[i]
      if v == nil then v = json_null end
      value[i - 1] = v
    end
  end
  local ok, text = raw_pcall(json_encode_raw, value, 'return value')
  if not ok then return false, error_text(text), 'result' end
  return true, text
end

return { install = install, run = run }
