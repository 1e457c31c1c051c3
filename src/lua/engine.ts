/**
 * One fresh Lua state inside a worker, driven through wasmoon's raw C API: our own allocator (memory limit), a
 * count hook (instruction budget, soft timeout, re-raising a hit limit), four C functions the prelude captures,
 * and length-exact string marshalling (no NUL truncation, no large strings on the wasm stack).
 *
 * Why raw API rather than wasmoon's value conversion: exact control over what crosses the boundary (strings only,
 * JSON rules in Lua), no JS object is ever reachable from Lua, and no Promise machinery (it breaks in coroutines).
 */
import type { LuaEngine, LuaWasm } from 'wasmoon';
import { requirePackage } from '../require-package.js';
import { PRELUDE_LUA } from './prelude.js';

const wasmoon = requirePackage('wasmoon') as typeof import('wasmoon');

const LUA_OK = 0;
export const LUA_YIELD = 1;
const LUA_MASKCOUNT = 8;
const LUA_TSTRING = 4;
/** Instructions between two hook calls: the granularity of the budget, the soft timeout and limit re-raising. */
export const HOOK_EVERY = 1000;

/** The part of the emscripten module we call directly (typed here; wasmoon's d.ts leaves it loose). */
interface EmModule {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _realloc(ptr: number, size: number): number;
  addFunction(fn: (...args: number[]) => number | undefined, signature: string): number;
  _lua_setallocf(L: number, fn: number, ud: number): void;
  _lua_newthread(L: number): number;
  _lua_xmove(from: number, to: number, n: number): void;
  _lua_resume(L: number, from: number, nargs: number, nresPtr: number): number;
  _lua_sethook(L: number, fn: number, mask: number, count: number): void;
  _lua_tolstring(L: number, index: number, lenPtr: number): number;
  _lua_pushlstring(L: number, ptr: number, len: number): number;
  _lua_pushcclosure(L: number, fn: number, n: number): void;
  _lua_pushnil(L: number): void;
  _lua_pushvalue(L: number, index: number): void;
  _lua_type(L: number, index: number): number;
  _lua_toboolean(L: number, index: number): number;
  _lua_gettop(L: number): number;
  _lua_settop(L: number, index: number): void;
}

interface RawLua {
  lua_setglobal(L: number, name: string): void;
  lua_getfield(L: number, index: number, name: string): number;
  lua_pcallk(L: number, nargs: number, nresults: number, msgh: number, ctx: number, k: number | null): number;
  luaL_loadbufferx(L: number, buffer: number, size: number, name: string, mode: string): number;
  lua_error(L: number): number;
  lua_remove(L: number, index: number): void;
}

/** What the C functions and the hook call back into (the worker's current run). */
export interface EngineHandlers {
  call(
    kind: string,
    a: string | undefined,
    b: string | undefined,
    c: string | undefined,
    payload: LuaString | undefined,
    /** 'park': the call may answer 'pending' and the script yields until the worker resumes it */
    park: string | undefined,
  ): [string, string];
  print(line: LuaString): string | null;
  /** `regex.*`: op, subject, pattern, replacement, limit (decimal text) -> status ('ok' | 'error'), text */
  regex(args: Array<string | undefined>): [string, string];
  limit(): string | null;
  /** every HOOK_EVERY instructions; a string return is raised as a Lua error */
  hook(): string | null;
  /** the allocator refused an allocation for this state (over its limit, or the wasm heap could not grow) */
  memoryRefused(memory: Memory): void;
}

export interface LuaString {
  text: string;
  bytes: number;
}

export interface Memory {
  used: number;
  max: number;
  peak: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Per-worker glue: the wasm function pointers are made once and dispatch to whichever state is live. */
export class EngineHost {
  readonly module: EmModule;
  readonly raw: RawLua;
  private readonly lenPtr: number;
  private readonly allocPtr: number;
  private readonly hookPtr: number;
  private readonly callPtr: number;
  private readonly printPtr: number;
  private readonly limitPtr: number;
  private readonly regexPtr: number;
  private readonly nresPtr: number;
  /**
   * Memory accounts of the live states, keyed by the allocator's user data: several states live in one worker (a
   * script parked in a host call keeps its state while others run), each charged for its own allocations.
   */
  private readonly accounts = new Map<number, Memory>();
  private accountSeq = 0;
  /** bytes all live states hold together, and the most they ever held at once: wasm pages once touched stay */
  private totalUsed = 0;
  peakTotalBytes = 0;

  constructor(
    readonly lua: LuaWasm,
    private readonly handlers: EngineHandlers,
  ) {
    this.module = lua.module as unknown as EmModule;
    this.raw = lua as unknown as RawLua;
    const m = this.module;
    this.lenPtr = m._malloc(4);
    this.nresPtr = m._malloc(4);
    this.allocPtr = m.addFunction((ud = 0, ptr = 0, osize = 0, nsize = 0) => {
      const mem = this.accounts.get(ud) as Memory;
      if (nsize === 0) {
        if (ptr) {
          mem.used -= osize;
          this.totalUsed -= osize;
          m._free(ptr);
        }
        return 0;
      }
      const delta = ptr ? nsize - osize : nsize;
      if (delta > 0 && mem.used + delta > mem.max) {
        this.handlers.memoryRefused(mem);
        return 0;
      }
      const out = m._realloc(ptr, nsize);
      if (!out) {
        this.handlers.memoryRefused(mem);
        return 0;
      }
      mem.used += delta;
      if (mem.used > mem.peak) mem.peak = mem.used;
      this.totalUsed += delta;
      if (this.totalUsed > this.peakTotalBytes) this.peakTotalBytes = this.totalUsed;
      return out;
    }, 'iiiii');
    this.hookPtr = m.addFunction((L = 0) => {
      const message = this.handlers.hook();
      if (message !== null) this.raise(L, message);
      return undefined;
    }, 'vii');
    this.callPtr = m.addFunction((L = 0) => {
      let answer: [string, string];
      try {
        answer = this.handlers.call(
          this.readString(L, 1)?.text ?? '',
          this.readString(L, 2)?.text,
          this.readString(L, 3)?.text,
          this.readString(L, 4)?.text,
          this.readString(L, 5),
          this.readString(L, 6)?.text,
        );
      } catch (error) {
        answer = ['error', `sandbox bridge failed: ${(error as Error).message}`];
      }
      this.pushString(L, answer[0]);
      this.pushString(L, answer[1]);
      return 2;
    }, 'ii');
    this.printPtr = m.addFunction((L = 0) => {
      const line = this.readString(L, 1) ?? { text: '', bytes: 0 };
      const limit = this.handlers.print(line);
      if (limit === null) return 0;
      this.pushString(L, limit);
      return 1;
    }, 'ii');
    this.regexPtr = m.addFunction((L = 0) => {
      const [status, text] = this.handlers.regex([1, 2, 3, 4, 5].map((i) => this.readString(L, i)?.text));
      this.pushString(L, status);
      this.pushString(L, text);
      return 2;
    }, 'ii');
    this.limitPtr = m.addFunction((L = 0) => {
      const limit = this.handlers.limit();
      if (limit === null) return 0;
      this.pushString(L, limit);
      return 1;
    }, 'ii');
  }

  /** The Lua string at index, decoded as UTF-8 (invalid bytes become U+FFFD), or undefined if not a string. */
  readString(L: number, index: number): LuaString | undefined {
    const m = this.module;
    if (m._lua_type(L, index) !== LUA_TSTRING) return undefined;
    const ptr = m._lua_tolstring(L, index, this.lenPtr);
    const bytes = m.HEAPU32[this.lenPtr >> 2] ?? 0;
    return { text: decoder.decode(m.HEAPU8.subarray(ptr, ptr + bytes)), bytes };
  }

  pushString(L: number, text: string): void {
    const m = this.module;
    const bytes = encoder.encode(text);
    const ptr = m._malloc(bytes.length + 1);
    try {
      m.HEAPU8.set(bytes, ptr);
      m._lua_pushlstring(L, ptr, bytes.length);
    } finally {
      m._free(ptr);
    }
  }

  private raise(L: number, message: string): void {
    this.pushString(L, message);
    this.raw.lua_error(L);
  }

  /** A fresh Lua state with the prelude run: stack [install, run]. Memory is unlimited until a run sets it. */
  createState(): LuaState {
    const engine = new wasmoon.LuaEngine(this.lua, {
      enableProxy: false,
      injectObjects: false,
      traceAllocations: true,
    });
    const L = engine.global.address;
    const used = engine.global.getMemoryUsed();
    const memory: Memory = { used, max: Number.POSITIVE_INFINITY, peak: used };
    this.totalUsed += used;
    const account = ++this.accountSeq;
    this.accounts.set(account, memory);
    this.module._lua_setallocf(L, this.allocPtr, account);
    const m = this.module;
    m._lua_pushcclosure(L, this.callPtr, 0);
    this.raw.lua_setglobal(L, '__kv_call');
    m._lua_pushcclosure(L, this.printPtr, 0);
    this.raw.lua_setglobal(L, '__kv_print');
    m._lua_pushcclosure(L, this.limitPtr, 0);
    this.raw.lua_setglobal(L, '__kv_limit');
    m._lua_pushcclosure(L, this.regexPtr, 0);
    this.raw.lua_setglobal(L, '__kv_regex');
    m._lua_settop(L, 0);
    const state = new LuaState(this, engine, L, memory, () => {
      // What the state's own close did not give back through our allocator (wasmoon's initial allocations).
      this.totalUsed -= memory.used;
      this.accounts.delete(account);
    });
    const loaded = state.load(PRELUDE_LUA, '=prelude');
    if (loaded !== null) throw new Error(`prelude does not compile: ${loaded}`);
    const status = this.raw.lua_pcallk(L, 0, 1, 0, 0, null);
    if (status !== LUA_OK) throw new Error(`prelude failed: ${this.readString(L, -1)?.text}`);
    this.raw.lua_getfield(L, 1, 'install');
    this.raw.lua_getfield(L, 1, 'run');
    this.raw.lua_remove(L, 1);
    return state;
  }

  startHook(L: number): void {
    this.module._lua_sethook(L, this.hookPtr, LUA_MASKCOUNT, HOOK_EVERY);
  }

  /** lua_resume: the status, and how many values the thread returned or yielded (on its stack). */
  resume(thread: number, from: number, nargs: number): { status: number; results: number } {
    const status = this.module._lua_resume(thread, from, nargs, this.nresPtr);
    return { status, results: this.module.HEAPU32[this.nresPtr >> 2] ?? 0 };
  }
}

/**
 * A fresh state's script runs in a Lua thread the worker resumes: it runs until it ends or parks in a host call
 * (yields), and is resumed with the answer. Stack of the state: [install, run, thread].
 */
export type Step =
  | { kind: 'parked' }
  | { kind: 'loadError'; message: string }
  | { kind: 'done'; status: number; ok: boolean; text: string; resultKind: string | undefined };

export class LuaState {
  private thread = 0;

  constructor(
    private readonly host: EngineHost,
    private readonly engine: LuaEngine,
    readonly L: number,
    readonly memory: Memory,
    private readonly release: () => void,
  ) {}

  /** Compiles code as a text chunk (binary chunks refused) and pushes it on L; returns null, or the error message. */
  load(code: string, chunkname: string, L = this.L): string | null {
    const m = this.host.module;
    const bytes = encoder.encode(code);
    const ptr = m._malloc(bytes.length + 1);
    let status: number;
    try {
      m.HEAPU8.set(bytes, ptr);
      status = this.host.raw.luaL_loadbufferx(L, ptr, bytes.length, chunkname, 't');
    } finally {
      m._free(ptr);
    }
    if (status === LUA_OK) return null;
    const message = this.host.readString(L, -1)?.text ?? 'could not load the script';
    m._lua_settop(L, -2);
    return message;
  }

  /** install(namespacesJson): builds `app`. Returns null or the error. */
  install(namespacesJson: string): string | null {
    const m = this.host.module;
    m._lua_pushvalue(this.L, 1);
    this.host.pushString(this.L, namespacesJson);
    const status = this.host.raw.lua_pcallk(this.L, 1, 0, 0, 0, null);
    if (status === LUA_OK) return null;
    const message = this.host.readString(this.L, -1)?.text ?? `status ${status}`;
    m._lua_settop(this.L, 2);
    return message;
  }

  /** Loads the script and runs it through the prelude's run(chunk) in a new thread, up to its end or first park. */
  start(code: string): Step {
    const m = this.host.module;
    const L = this.L;
    // Threads inherit the hook of the thread that creates them: the run's thread and the script's coroutines.
    this.host.startHook(L);
    this.thread = m._lua_newthread(L);
    m._lua_pushvalue(L, 2);
    m._lua_xmove(L, this.thread, 1);
    const loadError = this.load(code, '=script', this.thread);
    if (loadError !== null) return { kind: 'loadError', message: loadError };
    return this.resume(1);
  }

  /** Resumes a parked run with the host's answer: ('ok', json) | ('error', message) | ('limit', message). */
  answer(status: string, text: string): Step {
    this.host.pushString(this.thread, status);
    this.host.pushString(this.thread, text);
    return this.resume(2);
  }

  /**
   * The prelude's run() answers ok, text (JSON or error message), kind ('error' | 'result'); a status other than OK
   * or YIELD means run() itself failed.
   */
  private resume(nargs: number): Step {
    const m = this.host.module;
    const T = this.thread;
    const { status, results } = this.host.resume(T, this.L, nargs);
    if (status === LUA_YIELD) {
      // What the script yielded is PARKED (a user's yield at the top is refused by the prelude): drop it.
      m._lua_settop(T, -results - 1);
      return { kind: 'parked' };
    }
    if (status !== LUA_OK) {
      return {
        kind: 'done',
        status,
        ok: false,
        text: this.host.readString(T, -1)?.text ?? '',
        resultKind: undefined,
      };
    }
    const base = m._lua_gettop(T) - results;
    const ok = m._lua_toboolean(T, base + 1) !== 0;
    const text = this.host.readString(T, base + 2)?.text ?? '';
    const resultKind = this.host.readString(T, base + 3)?.text;
    m._lua_settop(T, 0);
    return { kind: 'done', status, ok, text, resultKind };
  }

  close(): void {
    try {
      this.engine.global.close();
    } finally {
      this.release();
    }
  }
}
