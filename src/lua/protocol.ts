/** Messages between the pool (main thread) and a sandbox worker. Internal to src/lua. */
import type { MessagePort } from 'node:worker_threads';
import type { LuaLimitCode, LuaLimits, LuaRunError, LuaRunStats } from './types.js';

export type BridgeKind = 'call' | 'read_doc' | 'list_docs' | 'search_docs';

/** Handed to each worker at spawn: the flag it waits on, the port its answers arrive on, how V8 compiles Lua. */
export interface WorkerInit {
  signal: SharedArrayBuffer;
  answers: MessagePort;
  liftoffOnly: boolean;
}

/** main -> worker (parentPort): run one script on a fresh Lua state; answer a parked run's call; give up on a run. */
export type PoolMessage =
  | RunRequest
  | { type: 'answer'; runId: number; answer: CallAnswer }
  | { type: 'cancel'; runId: number };

export interface RunRequest {
  type: 'run';
  runId: number;
  code: string;
  limits: LuaLimits;
  namespacesJson: string;
}

/** worker -> main (parentPort) */
export type WorkerEvent =
  | { type: 'ready' }
  | {
      type: 'call';
      runId: number;
      callId: number;
      kind: BridgeKind;
      integration?: string;
      fn?: string;
      account?: string;
      /** page for read_doc, query for search_docs */
      text?: string;
      /** JSON of the argument table */
      args?: string;
      lines: string[];
      /** true: the run is parked and wants a PoolMessage 'answer'; false: it blocks on the flag and answers port */
      parks: boolean;
    }
  | { type: 'output'; runId: number; lines: string[] }
  | { type: 'done'; runId: number; lines: string[]; outcome: RunOutcome; poisoned: boolean }
  /**
   * The run's state is closed. peakBytes: the most the worker's Lua states ever held at once; the wasm pages they
   * touched stay resident (wasm memory is never given back) until the worker exits.
   */
  | { type: 'closed'; runId: number; peakBytes: number };

export interface RunOutcome {
  ok: boolean;
  /** JSON text of the script's return value when ok */
  resultJson?: string;
  error?: LuaRunError;
  stats: LuaRunStats;
}

/** main -> worker: on the answers port followed by a store + notify on the signal, or in a PoolMessage. */
export type CallAnswer =
  | { callId: number; status: 'ok'; json: string }
  | { callId: number; status: 'error'; message: string; code?: string }
  | { callId: number; status: 'limit'; limit: LuaLimitCode; detail: string };
