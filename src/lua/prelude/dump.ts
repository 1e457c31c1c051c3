/**
 * `dump(value)`: a readable, Lua-looking rendering of any value, returned as a string. Keys are sorted (integers
 * first), short tables stay on one line, a table met again inside itself prints as `<cycle>`, and functions,
 * threads and userdata print as `<function>` etc. Defines the local `dump`.
 */
export const DUMP_LUA = String.raw`
local dump
do
  local keywords = {}
  for w in string_gmatch('and break do else elseif end false for function goto if in local nil not or repeat return then true until while', '%a+') do
    keywords[w] = true
  end
  local quote_map = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
  local function quote(s)
    return '"' .. string_gsub(s, '[%c"\\]', function(c) return quote_map[c] or string_format('\\%03d', string_byte(c)) end) .. '"'
  end
  local function scalar(v)
    local t = type(v)
    if t == 'string' then return quote(v) end
    if t == 'number' then
      if math_type(v) == 'integer' then return string_format('%d', v) end
      if v ~= v or v == math_huge or v == -math_huge then return tostring(v) end
      if v == math_floor(v) and v > -1e15 and v < 1e15 then return string_format('%.1f', v) end
      local s = string_format('%.14g', v)
      if tonumber(s) ~= v then s = string_format('%.17g', v) end
      return s
    end
    if t == 'boolean' or t == 'nil' then return tostring(v) end
    if v == json_null then return 'json.null' end
    return '<' .. t .. '>'
  end
  local function key_text(k)
    if type(k) == 'string' and string_find(k, '^[%a_][%w_]*$') and not keywords[k] then return k end
    return '[' .. scalar(k) .. ']'
  end
  local function key_less(a, b)
    local ta, tb = math_type(a) == 'integer', math_type(b) == 'integer'
    if ta and tb then return a < b end
    if ta ~= tb then return ta end
    local sa, sb = type(a) == 'string', type(b) == 'string'
    if sa and sb then return a < b end
    if sa ~= sb then return sa end
    return tostring(a) < tostring(b)
  end
  local render
  render = function(v, indent, seen, depth)
    if type(v) ~= 'table' or v == json_null then return scalar(v) end
    if seen[v] then return '<cycle>' end
    if depth > 100 then return '{...}' end
    seen[v] = true
    local keys = {}
    local k = next(v)
    while k ~= nil do
      keys[#keys + 1] = k
      k = next(v, k)
    end
    table_sort(keys, key_less)
    local inner = indent .. '  '
    local entries, multiline, width = {}, false, 0
    local seq = 1
    for i = 1, #keys do
      local key = keys[i]
      local text = render(rawget(v, key), inner, seen, depth + 1)
      if key == seq then
        seq = seq + 1
      else
        text = key_text(key) .. ' = ' .. text
      end
      entries[i] = text
      width = width + #text + 2
      if string_find(text, '\n', 1, true) then multiline = true end
    end
    seen[v] = nil
    if #entries == 0 then return '{}' end
    if not multiline and width + #indent <= 80 then return '{ ' .. table_concat(entries, ', ') .. ' }' end
    return '{\n' .. inner .. table_concat(entries, ',\n' .. inner) .. '\n' .. indent .. '}'
  end
  dump = function(...)
    if select('#', ...) == 0 then return 'nil' end
    return render((...), '', {}, 1)
  end
end
`;
