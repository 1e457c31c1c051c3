-- How `print`, `tostring` and `dump` show a table: the way KosmoKrator's sandbox does, JSON-like and indented,
-- two spaces a level, keys and strings unquoted:
--
--   {                 [
--     name: Jane,       1,
--     tags: [           2
--       a             ]
--     ]
--   }
--
-- A table whose keys are exactly 1..n is a list (`[...]`), any other an object (`{...}`); an empty table is `{}`
-- (`[]` when it is marked as an array: a decoded JSON array or `json.array()`). A table met again inside itself
-- prints as `<circular>`. Where this differs from KosmoKrator, on purpose: keys are sorted (integers first), so
-- output is the same on every run; the same table twice side by side prints in full both times (KosmoKrator
-- prints `<circular>` for the second); a table with a `__tostring` metamethod (json.null, the `app` namespaces)
-- prints as that; nesting beyond 100 levels prints as `{...}`; past 1 MiB of text the rest prints as `…` (a huge table
-- would otherwise cost the whole wall-time limit before the output limit could stop it). Defines the local
-- `serialize`.
local serialize
do
  local function key_less(a, b)
    local ta, tb = math_type(a) == 'integer', math_type(b) == 'integer'
    if ta and tb then return a < b end
    if ta ~= tb then return ta end
    local sa, sb = type(a) == 'string', type(b) == 'string'
    if sa and sb then return a < b end
    if sa ~= sb then return sa end
    return tostring(a) < tostring(b)
  end
  local function has_tostring(v)
    local mt = debug_getmetatable(v)
    return mt ~= nil and rawget(mt, '__tostring') ~= nil
  end
  local MAX_CHARS = 1048576
  local used = 0
  local render
  render = function(v, indent, seen, depth)
    if used > MAX_CHARS then return '…' end
    if type(v) ~= 'table' or has_tostring(v) then
      local text = tostring(v)
      used = used + #text
      return text
    end
    if seen[v] then return '<circular>' end
    if depth > 100 then return '{...}' end
    local keys, n = {}, 0
    local k = next(v)
    while k ~= nil do
      n = n + 1
      keys[n] = k
      k = next(v, k)
    end
    if n == 0 then return array_marks[v] and '[]' or '{}' end
    seen[v] = true
    local list = true
    for i = 1, n do
      if rawget(v, i) == nil then list = false break end
    end
    local pad = string_rep('  ', indent + 1)
    local parts = {}
    if list then
      for i = 1, n do
        parts[i] = pad .. render(rawget(v, i), indent + 1, seen, depth + 1)
        used = used + #pad + 2
        if used > MAX_CHARS then parts[i + 1] = pad .. '…' break end
      end
    else
      table_sort(keys, key_less)
      for i = 1, n do
        local key = keys[i]
        parts[i] = pad .. tostring(key) .. ': ' .. render(rawget(v, key), indent + 1, seen, depth + 1)
        used = used + #pad + #tostring(key) + 4
        if used > MAX_CHARS then parts[i + 1] = pad .. '…' break end
      end
    end
    seen[v] = nil
    local open, close = '{', '}'
    if list then open, close = '[', ']' end
    return open .. '\n' .. table_concat(parts, ',\n') .. '\n' .. string_rep('  ', indent) .. close
  end
  serialize = function(v)
    used = 0
    return render(v, 0, {}, 1)
  end
end
