/**
 * Public types of the Lua sandbox. `src/lua/` runs Lua; it knows nothing of Vero or credentials: the only way out of
 * a script is the host callback described by `LuaHost`.
 */
import type { ResourceLimits } from 'node:worker_threads';

/** One integration as a script sees it under `app.integrations.<integration>`. */
export interface LuaNamespace {
  /** e.g. 'vero' -> `app.integrations.vero` */
  integration: string;
  /** function names, e.g. ['identify_user', 'track_event'] */
  functions: string[];
  /** extra names for functions, alias -> function, e.g. { vero_identify_user: 'identify_user' } */
  aliases: Record<string, string>;
  /**
   * Named accounts configured for this integration, e.g. ['marketing'], reachable as
   * `app.integrations.vero.marketing.<fn>`. 'default' is always valid and need not be listed.
   * A function name wins over an account of the same name.
   */
  accounts: string[];
  /**
   * Declared parameter names of each function, in order: positional arguments map onto them
   * (`fn("usr_1", "a@example.com")` is `fn({ id = "usr_1", email = "a@example.com" })`). A function missing here
   * takes a table only.
   */
  parameters?: Record<string, string[]>;
  /** How to add an account a script names but nobody configured, with `<NAME>` for its upper-cased name. */
  addAccount?: string;
}

/** What a script calls, as the host receives it. */
export interface LuaCallRequest {
  integration: string;
  /** the function's real name (an alias is already resolved) */
  fn: string;
  /** undefined for `app.integrations.vero.fn(...)`; 'default' or the name for `.default.fn` / `.<account>.fn` */
  account: string | undefined;
  /** the script's argument table converted to JSON (see docs/lua/values.md); `{}` when called without one */
  args: unknown;
}

/** The host side of a run: everything a script can reach outside its own Lua state goes through here. */
export interface LuaHost {
  namespaces: LuaNamespace[];
  /**
   * Runs on the main thread while the script waits. Resolves to a JSON-able value (becomes Lua values; undefined
   * becomes nil) or rejects with an Error whose message becomes the Lua error message (catchable by pcall). An Error
   * with a string `code` gives that code to the run's result if the script does not catch it.
   */
  call(request: LuaCallRequest): Promise<unknown>;
  /**
   * `lua_read_doc(page)` and `docs.read(page)`. For an unknown page either return text saying so (as KosmoKrator
   * does) or throw an Error (its message is raised in the script).
   */
  readDoc(page: string): string | Promise<string>;
  /** `lua_list_docs()`, and `docs.list()` (which formats `{ page, title }` entries as text) */
  listDocs(): unknown;
  /** `lua_search_docs(query)`, and `docs.search(query)` (which formats `{ page, title, matches }` hits as text) */
  searchDocs(query: string): unknown;
}

export interface LuaLimits {
  /** wall time of a run, ms (default 30000). Past it the worker is terminated if the script does not stop itself. */
  timeoutMs: number;
  /** Lua VM instructions per run (default 1 billion, a few seconds of pure Lua), counted every 1000 instructions */
  instructionLimit: number;
  /** bytes the Lua state may allocate (default 64 MiB) */
  memoryBytes: number;
  /** UTF-8 bytes of printed output (default 1 MiB) */
  outputBytes: number;
  /** integration calls per run (default 10000); docs functions do not count */
  maxCalls: number;
  /** bytes of one call's arguments as JSON (default 1 MiB) */
  maxArgBytes: number;
  /** bytes of one call's result, and of the script's return value, as JSON (default 8 MiB) */
  maxResultBytes: number;
}

/** Codes a run's error can carry. A host error's own `code` can also appear (see LuaHost.call). */
export type LuaLimitCode =
  | 'lua_timeout'
  | 'lua_instruction_limit'
  | 'lua_memory_limit'
  | 'lua_output_limit'
  | 'lua_call_limit'
  | 'lua_arg_too_large'
  | 'lua_result_too_large';

export type LuaErrorCode =
  | LuaLimitCode
  /** a compile error in the script */
  | 'lua_syntax_error'
  /** an error the script raised or caused, not caught */
  | 'lua_runtime_error'
  /** the script returned something JSON cannot carry (a function, a cycle, NaN...) */
  | 'lua_result_invalid'
  /** the sandbox itself failed (worker crash, wasm trap); the worker was replaced */
  | 'lua_internal_error';

export interface LuaRunError {
  code: LuaErrorCode | (string & {});
  /** shown to people: the Lua message without its "script:N:" prefix */
  message: string;
  /** line in the script the error points at, when Lua gave one */
  line?: number;
}

export interface LuaRunStats {
  /** integration calls made (docs functions not counted) */
  calls: number;
  /** Lua instructions executed, to the hook's granularity (1000) */
  instructions: number;
  /** highest memory the Lua state held, bytes */
  peakMemoryBytes: number;
  /** from the worker starting the run to its end, ms */
  durationMs: number;
}

export interface LuaRunResult {
  ok: boolean;
  /** one entry per print() call: its arguments tostring'd and joined with tabs */
  output: string[];
  /** the script's return values as JSON: null for none, the value for one, an array for several */
  result: unknown;
  error?: LuaRunError;
  stats: LuaRunStats;
}

export interface LuaPoolOptions {
  /**
   * Most workers (threads) at once (default: one per core, at least 2, at most one per 512 MiB of memory). Workers
   * start as scripts need them; a script waiting on a host call parks and frees its worker for others.
   */
  maxWorkers?: number;
  /** Most scripts one worker holds at once, the one executing and those parked in host calls (default 32). */
  runsPerWorker?: number;
  /** A worker with no script for this long is stopped, down to one worker (ms, default 60000). */
  idleMs?: number;
  /**
   * A worker whose Lua states held more than this at once (a big script) is replaced once its scripts end, which
   * returns that memory: wasm memory, where Lua states live, is never given back while the worker lives (bytes,
   * default 16 MiB; an idle worker holds about 0.1 MiB of Lua state).
   */
  recycleAboveBytes?: number;
  /** The clock idleMs is measured on, in ms (default Date.now); tests move it by hand. */
  now?: () => number;
  /** defaults for every run of this pool */
  limits?: Partial<LuaLimits>;
  /**
   * V8 heap limits of each worker thread (Node's `Worker` resourceLimits). Default: sized from `limits` (the
   * strings a script passes and gets back; see workerResourceLimits). Lua's own memory lives outside this heap and
   * is capped by `limits.memoryBytes`.
   */
  resourceLimits?: ResourceLimits;
  /**
   * Sets V8's `--liftoff-only` for the whole process when a worker is about to compile wasmoon (default false: a
   * library leaves process-wide flags to its host). What it saves and costs: src/lua/README.md, "Wasm tiers".
   */
  liftoffOnly?: boolean;
}
