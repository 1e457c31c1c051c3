import { DUMP_LUA } from './dump.js';
import { JSON_LUA } from './json.js';
import { HEADER_LUA, SANDBOX_LUA } from './sandbox.js';

/** The whole trusted prelude, one chunk: shared locals first, then the converter, dump, and the sandbox setup. */
export const PRELUDE_LUA = [HEADER_LUA, JSON_LUA, DUMP_LUA, SANDBOX_LUA].join('\n');
