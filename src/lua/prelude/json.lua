-- The Lua <-> JSON converter, written in Lua so every rule lives in one place and runs inside the sandbox. It is
-- used for integration arguments and results, for the script's return value, and for `json.encode`/`json.decode`.
-- The same rules are documented for script authors in docs/lua/values.md.
--
-- Lua -> JSON (strict: anything JSON cannot carry exactly is an error naming where it is, e.g. `args.tags[2]`):
-- - nil -> null (only reachable as an array element or a return value); `json.null` -> null.
-- - booleans -> true/false.
-- - integers -> JSON integers. Integers beyond +-2^53 are an error: the host is JavaScript and would round them
--   (pass such ids as strings).
-- - floats -> JSON numbers, shortest text that reads back as the same double. An integral float is written with
--   ".0" (1.0 -> `1.0`); JavaScript reads that as 1, so a float can come back as an integer. NaN and +-inf are an
--   error (JSON has no such numbers).
-- - strings -> JSON strings; they must be valid UTF-8 (error otherwise); control characters are escaped.
-- - tables: an empty table -> `{}` (the host's schema coerces it to [] where an array is expected), unless marked
--   with `json.array(t)`, then `[]`. A table whose keys are exactly the integers 1..n -> array. Any other table ->
--   object: string keys as they are, integer keys written in decimal ("3"); a key that is a float, boolean, table,
--   function, userdata or thread is an error naming the key's type; an integer key and a string key that read the
--   same ("1" and 1) is an error. Object keys are written sorted. Metatables are ignored (raw contents).
-- - a table that contains itself (a cycle) is an error, not a hang; the same table twice (not nested in itself) is
--   fine. Nesting deeper than 200 levels is an error.
-- - functions, userdata, threads -> error.
--
-- JSON -> Lua:
-- - objects -> tables with string keys (a key "1" stays the string "1"); arrays -> sequences 1..n, marked as arrays
--   so that an empty one encodes back to `[]`.
-- - null -> nil: an object member that is null is absent, an array element that is null leaves a hole (so `#t` may
--   stop before it). `json.decode(s, { null = json.null })` keeps nulls as the `json.null` sentinel instead.
-- - numbers without fraction or exponent -> integers when they fit in 64 bits (else floats); others -> floats. A
--   leading zero (012) is an error, as JSON has none. test/fixtures/json-corpus holds the cases.
-- - strings: escapes decoded to UTF-8; a lone surrogate (\ud800) becomes U+FFFD.
local json_null = setmetatable({}, {
  __tostring = function() return 'json.null' end,
  __newindex = function() error('json.null is read-only', 2) end,
  __metatable = 'locked',
})
local array_marks = setmetatable({}, { __mode = 'k' })
local MAX_SAFE = 9007199254740992
local MAX_DEPTH = 200

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function escape_char(c) return escapes[c] or string_format('\\u%04x', string_byte(c)) end

-- The key path of the value being encoded: keys[2..depth] under the root name keys[1]. Only turned into text
-- for an error message, so encoding a valid value allocates no paths.
local keys, out, n = {}, nil, 0

local function path_text(depth)
  local parts = { keys[1] }
  for i = 2, depth do
    local k = keys[i]
    if type(k) == 'string' then
      parts[i] = string_find(k, '^[%a_][%w_]*$') and ('.' .. k) or ('[' .. string_format('%q', k) .. ']')
    else
      parts[i] = '[' .. tostring(k) .. ']'
    end
  end
  return table_concat(parts)
end

local function fail(depth, msg) error(path_text(depth) .. ': ' .. msg, 0) end

local function format_float(x, depth)
  if x ~= x then fail(depth, 'NaN cannot be converted to JSON') end
  if x == math_huge or x == -math_huge then fail(depth, 'infinity cannot be converted to JSON') end
  if x == math_floor(x) and x > -1e15 and x < 1e15 then
    if x == 0 and 1 / x < 0 then return '-0.0' end
    return string_format('%.1f', x)
  end
  local s = string_format('%.14g', x)
  if tonumber(s) ~= x then s = string_format('%.17g', x) end
  return s
end

local function encode_string(v, depth)
  local ok, bad = utf8_len(v)
  if not ok then fail(depth, 'string is not valid UTF-8 (bad byte at position ' .. bad .. ')') end
  if string_find(v, '[%c"\\]') then v = string_gsub(v, '[%c"\\]', escape_char) end
  n = n + 1
  out[n] = '"' .. v .. '"'
end

local encode_value

local function encode_table(t, depth, seen)
  if t == json_null then n = n + 1 out[n] = 'null' return end
  if seen[t] then fail(depth, 'table contains itself (a cycle); JSON cannot represent cycles') end
  if depth > MAX_DEPTH then fail(depth, 'nested more than ' .. MAX_DEPTH .. ' levels deep') end
  seen[t] = true
  local count, max_index, sequence = 0, 0, true
  local k = next(t)
  while k ~= nil do
    count = count + 1
    local mt = math_type(k)
    if mt == 'integer' then
      if k < 1 then sequence = false elseif k > max_index then max_index = k end
    elseif type(k) == 'string' then
      sequence = false
    else
      local what = mt == 'float' and 'a float key (' .. tostring(k) .. ')' or 'a ' .. type(k) .. ' key'
      fail(depth, what .. ' cannot be a JSON object key; use string keys, or integer keys 1..n for an array')
    end
    k = next(t, k)
  end
  local inner = depth + 1
  if count == 0 then
    n = n + 1
    out[n] = array_marks[t] and '[]' or '{}'
  elseif sequence and max_index == count then
    n = n + 1
    out[n] = '['
    for i = 1, count do
      if i > 1 then n = n + 1 out[n] = ',' end
      keys[inner] = i
      encode_value(rawget(t, i), inner, seen)
    end
    n = n + 1
    out[n] = ']'
  else
    local names, by_name = {}, {}
    k = next(t)
    local i = 0
    while k ~= nil do
      local name = k
      if type(k) ~= 'string' then
        name = string_format('%d', k)
        if rawget(t, name) ~= nil then fail(depth, 'key ' .. name .. ' appears both as a number and as a string') end
      end
      by_name[name] = k
      i = i + 1
      names[i] = name
      k = next(t, k)
    end
    if i > 1 then table_sort(names) end
    n = n + 1
    out[n] = '{'
    for j = 1, i do
      local name = names[j]
      if j > 1 then n = n + 1 out[n] = ',' end
      local key = by_name[name]
      keys[inner] = key
      encode_string(name, inner)
      n = n + 1
      out[n] = ':'
      encode_value(rawget(t, key), inner, seen)
    end
    n = n + 1
    out[n] = '}'
  end
  seen[t] = nil
end

encode_value = function(v, depth, seen)
  local t = type(v)
  if t == 'string' then
    encode_string(v, depth)
  elseif t == 'number' then
    if math_type(v) == 'integer' then
      if v > MAX_SAFE or v < -MAX_SAFE then
        fail(depth, 'integer ' .. string_format('%d', v) .. ' is beyond +-2^53, which JSON numbers cannot carry exactly; pass it as a string')
      end
      n = n + 1
      out[n] = v -- table.concat writes integers in decimal
    else
      n = n + 1
      out[n] = format_float(v, depth)
    end
  elseif t == 'boolean' then
    n = n + 1
    out[n] = v and 'true' or 'false'
  elseif t == 'nil' then
    n = n + 1
    out[n] = 'null'
  elseif t == 'table' then
    encode_table(v, depth, seen)
  else
    fail(depth, 'a ' .. t .. ' cannot be converted to JSON')
  end
end

-- Raises "path: message" with no position; callers add their own context and position. Not re-entrant (no user
-- code runs while encoding: metatables are ignored).
local function json_encode_raw(v, root)
  out, n = {}, 0
  keys[1] = root or 'value'
  encode_value(v, 1, {})
  local text = table_concat(out, '', 1, n)
  out = nil
  return text
end

local unescapes = { [34] = '"', [92] = '\\', [47] = '/', [98] = '\b', [102] = '\f', [110] = '\n', [114] = '\r', [116] = '\t' }

local function json_decode_raw(str, null_value)
  local pos = 1
  local len = #str
  local function err(msg) error('invalid JSON at position ' .. pos .. ': ' .. msg, 0) end
  local function skip()
    pos = string_find(str, '[^ \t\r\n]', pos) or len + 1
  end
  local decode_value
  local function decode_string()
    local parts, n = nil, 0
    local i = pos + 1
    while true do
      local j = string_find(str, '["\\\0-\031]', i)
      if not j then pos = len + 1 err('unterminated string') end
      local c = string_byte(str, j)
      if c == 34 then
        pos = j + 1
        if parts then
          parts[n + 1] = string_sub(str, i, j - 1)
          return table_concat(parts)
        end
        return string_sub(str, i, j - 1)
      elseif c == 92 then
        parts = parts or {}
        n = n + 1
        parts[n] = string_sub(str, i, j - 1)
        local e = string_byte(str, j + 1)
        if e == 117 then
          local hex = string_match(str, '^%x%x%x%x', j + 2)
          if not hex then pos = j err('bad \\u escape') end
          local cp = tonumber(hex, 16)
          i = j + 6
          if cp >= 0xD800 and cp <= 0xDBFF then
            local low = string_match(str, '^\\u(%x%x%x%x)', i)
            local lo = low and tonumber(low, 16)
            if lo and lo >= 0xDC00 and lo <= 0xDFFF then
              cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
              i = i + 6
            else
              cp = 0xFFFD
            end
          elseif cp >= 0xDC00 and cp <= 0xDFFF then
            cp = 0xFFFD
          end
          n = n + 1
          parts[n] = utf8_char(cp)
        else
          local u = e and unescapes[e]
          if not u then pos = j err('bad escape') end
          n = n + 1
          parts[n] = u
          i = j + 2
        end
      else
        pos = j
        err('control character in string')
      end
    end
  end
  local function decode_number()
    local s, e = string_find(str, '^-?%d+', pos)
    if not s then err('unexpected character ' .. string_format('%q', string_sub(str, pos, pos))) end
    if string_find(str, '^-?0%d', s) then err('a number cannot start with 0 (leading zero)') end
    local float = false
    local _, e2 = string_find(str, '^%.%d+', e + 1)
    if e2 then e = e2 float = true end
    local _, e3 = string_find(str, '^[eE][-+]?%d+', e + 1)
    if e3 then e = e3 float = true end
    local v = tonumber(string_sub(str, s, e))
    if not float then v = math_tointeger(v) or v end
    pos = e + 1
    return v
  end
  decode_value = function(depth)
    if depth > MAX_DEPTH then err('nested more than ' .. MAX_DEPTH .. ' levels deep') end
    skip()
    local c = string_byte(str, pos)
    if c == 34 then return decode_string()
    elseif c == 123 then
      local t = {}
      pos = pos + 1
      skip()
      if string_byte(str, pos) == 125 then pos = pos + 1 return t end
      while true do
        skip()
        if string_byte(str, pos) ~= 34 then err('expected a string key') end
        local k = decode_string()
        skip()
        if string_byte(str, pos) ~= 58 then err("expected ':'") end
        pos = pos + 1
        local v = decode_value(depth + 1)
        if v == nil then v = null_value end
        t[k] = v
        skip()
        local d = string_byte(str, pos)
        pos = pos + 1
        if d == 125 then return t end
        if d ~= 44 then pos = pos - 1 err("expected ',' or '}'") end
      end
    elseif c == 91 then
      local t = {}
      array_marks[t] = true
      pos = pos + 1
      skip()
      if string_byte(str, pos) == 93 then pos = pos + 1 return t end
      local i = 0
      while true do
        i = i + 1
        local v = decode_value(depth + 1)
        if v == nil then v = null_value end
        t[i] = v
        skip()
        local d = string_byte(str, pos)
        pos = pos + 1
        if d == 93 then return t end
        if d ~= 44 then pos = pos - 1 err("expected ',' or ']'") end
      end
    elseif c == 116 and string_sub(str, pos, pos + 3) == 'true' then pos = pos + 4 return true
    elseif c == 102 and string_sub(str, pos, pos + 4) == 'false' then pos = pos + 5 return false
    elseif c == 110 and string_sub(str, pos, pos + 3) == 'null' then pos = pos + 4 return nil
    elseif c == nil then err('unexpected end of input')
    else return decode_number() end
  end
  local v = decode_value(1)
  skip()
  if pos <= len then err('unexpected text after the value') end
  if v == nil then v = null_value end
  return v
end
