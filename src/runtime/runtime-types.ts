import type { Integration, RetryNotice } from '../integrations/definition.js';
import type { LuaLimits, LuaPool, LuaPoolOptions, LuaRunError, LuaRunStats } from '../lua/index.js';
import type { OutboxOptions } from '../outbox/index.js';
import type { AccountOverrides } from './accounts.js';
import type { CallRecord } from './call-log.js';
import type { RuntimeConfig } from './config.js';
import type { AskCallback, PermissionPolicy } from './permissions.js';

export interface RuntimeOptions {
  /** Where accounts come from; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** A config object or the path of a JSON config file (see RuntimeConfig). */
  config?: RuntimeConfig | string;
  /**
   * The integrations this runtime offers. `createRuntime` from the package entry defaults to the built-in ones
   * (Vero); the `Runtime` class itself has none unless given.
   */
  integrations?: Integration[];
  /** Point every account of every integration that declares an API base setting at this API base (an emulator). */
  baseUrl?: string;
  /** Credential for the default account of integrations that have none configured (the emulator's demo token). */
  fallbackCredential?: string;
  /** Per integration name, the same two overrides for that integration only; they win over the two above. */
  overrides?: Record<string, AccountOverrides>;
  permissions?: PermissionPolicy;
  /** Deny every write. */
  readOnly?: boolean;
  /** Validate and report what would be sent, send nothing. */
  dryRun?: boolean;
  /** Decides calls whose permission is `ask`. */
  ask?: AskCallback;
  /** Lua sandbox: how many workers (maxWorkers; they grow and shrink with demand), default limits of every run. */
  lua?: LuaPoolOptions;
  /**
   * A Lua pool already started, used instead of one built from `lua` at the first `runLua` (`lua` is then ignored):
   * the CLI starts it before loading the rest, so the sandbox's worker boots on another core meanwhile. The runtime
   * closes it.
   */
  luaPool?: LuaPool;
  /** `direct` sends each write before the call returns; `queued` commits it to the outbox and delivers in the background. */
  delivery?: DeliveryMode;
  /** How the outbox retries and paces queued writes (defaults: see OutboxOptions); wins over the config's `queue`. */
  queue?: QueueOptions;
  /**
   * Outbox for queued delivery: an SQLite file, or a `postgres://` URL (`?schema=` picks the schema, default
   * `kosmo_vero`) shared by any number of processes and hosts. Default: env KOSMO_VERO_OUTBOX, the config file, or
   * a file in the user's data dir.
   */
  outbox?: string;
  /** Deliver queued writes in the background as they are accepted (default true); false leaves them for a drain. */
  background?: boolean;
  /** The clock a call's time is read from (e.g. an event's `extras.created_at`); default `() => new Date()`. */
  now?: () => Date;
  /** Per-request timeout of every client, in milliseconds (default: the config file's, else the integration's). */
  requestTimeoutMs?: number;
  /** Called when a request failed and will be tried again (the CLI shows a progress line). */
  onRetry?: (retry: RetryNotice & { integration: string; account: string }) => void;
  /** How the person using this runtime changes a setting, as error messages name it (the CLI: its flags). */
  settingNames?: Partial<SettingNames>;
}

export interface SettingNames {
  /** Default `readOnly: true`; the CLI's `--read-only`. */
  readOnly: string;
  /** Default `dryRun: true`; the CLI's `--dry-run`. */
  dryRun: string;
  /** Default `requestTimeoutMs`; the CLI's `--request-timeout <ms>`. */
  requestTimeout: string;
}

export type DeliveryMode = 'direct' | 'queued';

export type QueueOptions = Pick<
  OutboxOptions,
  | 'concurrency'
  | 'retryForMs'
  | 'maxAttempts'
  | 'baseDelayMs'
  | 'maxDelayMs'
  | 'pauseMs'
  | 'pollIntervalMs'
  | 'leaseMs'
>;

export interface ImportOptions {
  /** Integration whose import to use; needed only when more than one offers this kind. */
  integration?: string;
  /** Import kind the integration declares, e.g. `users` or `events`. */
  kind: string;
  account?: string;
  delivery?: DeliveryMode;
  /** After each row: how many were read so far, and of those accepted and failed (the file is read as it goes). */
  onProgress?: (progress: ImportProgress) => void;
}

export interface ImportProgress {
  rows: number;
  accepted: number;
  failed: number;
}

export interface ImportSummary {
  function_name: string;
  rows: number;
  accepted: number;
  failed: Array<{ line: number; code: string; message: string }>;
  outbox_ids: number[];
}

export interface CallOptions {
  account?: string;
  dryRun?: boolean;
  /**
   * Deny writes: true, or why this caller may not write, which the refusal says instead of how to turn the runtime's
   * read-only setting off (e.g. `the client token "ci" is read-only; ...` for `kosmo-vero serve`).
   */
  readOnly?: boolean | string;
  delivery?: DeliveryMode;
  /** Largest arguments as JSON, in bytes; default the Lua sandbox's `maxArgBytes` (a Lua run passes its own). */
  maxArgBytes?: number;
  /** Receives this call's log record (a Lua run collects its own calls this way). */
  trace?: (record: CallRecord) => void;
}

export interface RunLuaOptions extends Omit<CallOptions, 'trace'>, Partial<LuaLimits> {}

/** What a script run gives back: printed lines, return values as JSON, the calls it made, and its error. */
export interface LuaScriptResult {
  ok: boolean;
  output: string[];
  result: unknown;
  calls: CallRecord[];
  error: LuaRunError | null;
  stats: LuaRunStats;
}

export interface FunctionInfo {
  integration: string;
  name: string;
  fullName: string;
  slug: string;
  description: string;
  toolDescription: string;
  operation: 'read' | 'write';
  extra: boolean;
  destructive: boolean;
  idempotent: boolean;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export interface AccountInfo {
  integration: string;
  name: string;
  credential_kind: string | null;
  credential_hint: string | null;
  base_url: string | null;
  /** The settings the integration lists for its accounts (Vero: `email`), as configured. */
  settings: Record<string, string>;
  error?: string;
}

export interface AccountTest {
  integration: string;
  account: string;
  base_url: string;
  ok: boolean;
  status: number | null;
  latency_ms: number;
  error: string | null;
  /** What the check can and cannot verify. */
  note: string;
}
