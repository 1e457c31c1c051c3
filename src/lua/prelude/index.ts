import { JSON_LUA } from './json.js';
import { HEADER_LUA, SANDBOX_LUA } from './sandbox.js';
import { SERIALIZE_LUA } from './serialize.js';

/** The whole trusted prelude, one chunk: shared locals first, then the converter, the serializer, and the sandbox setup. */
export const PRELUDE_LUA = [HEADER_LUA, JSON_LUA, SERIALIZE_LUA, SANDBOX_LUA].join('\n');
