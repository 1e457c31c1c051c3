-- The trusted part of every fresh Lua state, run once before any script: captures what it needs as locals, builds
-- `app`, `json`, `regex`, `docs`, `dump`, `print`, `tostring`, the docs functions and the safe `os`, wraps
-- pcall/xpcall/coroutine so a limit error cannot be swallowed, and removes everything that reaches outside the state.
--
-- The worker registers four C functions as globals before this runs; they are captured here and the globals erased:
-- - __kv_call(kind, a, b, c, payload, park) -> status ('ok' | 'error' | 'limit'), text (JSON when ok, else a message);
--   with park = 'park' the worker may answer 'pending': the script then yields up to the worker, which resumes it
--   with the answer (status, text) once the host has it, running other scripts meanwhile
-- - __kv_print(line) -> nil, or the limit message when the output limit is hit
-- - __kv_limit() -> nil, or the message of the limit this run has hit
-- - __kv_regex(op, subject, pattern, replacement, limit) -> status ('ok' | 'error'), text (JSON when ok)
-- It returns { install = function(namespaces_json), run = function(chunk) -> ok, text, kind }.
local kv_call, kv_print, kv_limit, kv_regex = __kv_call, __kv_print, __kv_limit, __kv_regex
__kv_call, __kv_print, __kv_limit, __kv_regex = nil, nil, nil, nil
local debug_getmetatable = debug.getmetatable
local type, next, select, tostring, tonumber, error = type, next, select, tostring, tonumber, error
local rawget, rawset, rawequal, setmetatable, getmetatable = rawget, rawset, rawequal, setmetatable, getmetatable
local raw_pcall, raw_xpcall = pcall, xpcall
local string_format, string_byte, string_find, string_gsub = string.format, string.byte, string.find, string.gsub
local string_sub, string_match, string_gmatch, string_rep = string.sub, string.match, string.gmatch, string.rep
local table_concat, table_sort, table_pack, table_unpack = table.concat, table.sort, table.pack, table.unpack
local math_type, math_huge, math_floor, math_tointeger, math_min = math.type, math.huge, math.floor, math.tointeger, math.min
local utf8_len, utf8_char = utf8.len, utf8.char
local string_lower, string_upper, math_max = string.lower, string.upper, math.max
local co_resume, co_close, co_create, co_status = coroutine.resume, coroutine.close, coroutine.create, coroutine.status
local co_yield, co_isyieldable, co_running = coroutine.yield, coroutine.isyieldable, coroutine.running
