/**
 * The contract every integration implements: how its functions, accounts, client, deliveries, docs and emulator are
 * declared. It sits below the runtime and the integrations alike, so both import it and neither imports the other
 * (the built-in list, `./index.ts`, is chosen at the edges: the library entry and the CLI).
 */
import type { z } from 'zod';

export type Operation = 'read' | 'write';

/** One configured account of an integration, as resolved from environment or config file. */
export interface Account {
  /** Lower-cased account name; `default` for the unnamed one. */
  name: string;
  credential: { kind: string; value: string };
  /** Non-secret settings such as `baseUrl` or `email`. */
  settings: Record<string, string>;
}

/**
 * What a write will send: pure data, so it can be shown (dry-run) or stored (outbox) and sent later. An integration
 * narrows `Op` and `Input` (for Vero: a union with one member per client operation), so its functions' plans and
 * its `send` meet without casts.
 */
export interface WritePlan<Op extends string = string, Input = unknown> {
  /** The integration's own operation name (for Vero: a VeroClient method). */
  operation: Op;
  input: Input;
  /** The identifiers the write acts on, echoed in the result (e.g. `{ id: "usr_1" }`). */
  subject: Record<string, string>;
  /**
   * Every identifier the write names (e.g. a user's id and email). Queued writes sharing any of these keys are
   * delivered in the order they were accepted.
   */
  orderingKeys: string[];
}

/** What a plan may depend on besides the arguments. */
export interface PlanContext {
  /**
   * The moment the call was made (the runtime's clock). A plan that records it (e.g. an event's time) carries it into
   * the outbox, so a retried or late-delivered write keeps the time of the call.
   */
  now: Date;
}

export interface QueuedFailure {
  retryable?: boolean;
  pauseDestination?: boolean;
  maxAttempts?: number;
}

export interface SendOutcome {
  duplicate: boolean;
  message: string;
}

interface FunctionBase<Schema extends z.ZodType> {
  /** Lua-facing name, e.g. `identify_user`. */
  name: string;
  /** One line, as in the reference docs. */
  description: string;
  /** A longer text for tool listings (MCP, function calling); defaults to `description`. */
  toolDescription?: string;
  operation: Operation;
  schema: Schema;
  /** Lua example, shown verbatim in the docs. */
  example: string;
  /** Functions that Vero supports but the published page does not list. */
  extra?: boolean;
  /** Parameters the published page does not list: left out of its table, documented after it. */
  extraParameters?: string[];
  /** What the service does that a caller would not guess; shown on the function's own doc page. */
  caveats?: string[];
  destructive?: boolean;
  idempotent?: boolean;
}

export interface WriteFunction<Schema extends z.ZodType = z.ZodType, Plan extends WritePlan = WritePlan>
  extends FunctionBase<Schema> {
  operation: 'write';
  plan(args: z.output<Schema>, context: PlanContext): Plan;
}

export interface ReadContext<Client> {
  account: Account;
  client: Client;
}

export interface ReadFunction<Schema extends z.ZodType = z.ZodType, Client = unknown>
  extends FunctionBase<Schema> {
  operation: 'read';
  read(args: z.output<Schema>, context: ReadContext<Client>): Promise<Record<string, unknown>>;
  /** The request `read` would send, credential redacted: what a dry run shows instead of sending it. */
  preview(args: z.output<Schema>, context: ReadContext<Client>): unknown;
}

export type IntegrationFunction<Client = unknown, Plan extends WritePlan = WritePlan> =
  | WriteFunction<z.ZodType, Plan>
  | ReadFunction<z.ZodType, Client>;

/** How an integration's accounts come from the environment: `<PREFIX>[_<ACCOUNT>]_<VARIABLE>`. */
export interface AccountEnvironment {
  prefix: string;
  /** Credential variables in order of preference, with the kind each one is. */
  credentials: Array<{ variable: string; kind: string }>;
  /** Setting name -> variable, e.g. `baseUrl` -> `BASE_URL`. */
  settings: Record<string, string>;
  /** Settings of the default account that named accounts take unless they set their own, e.g. `baseUrl`. */
  inherited?: string[];
  /** The setting that holds an account's API base, e.g. `baseUrl`: what the runtime's `baseUrl` option replaces. */
  endpointSetting?: string;
  /** Non-secret settings shown in account listings (`kosmo-vero accounts list`), e.g. `email`. */
  listed?: string[];
}

export interface ProbeResult {
  ok: boolean;
  status?: number;
  latencyMs: number;
  error?: string;
}

/** Runtime-wide settings every client of an integration takes. */
export interface ClientOptions {
  /** Per-request timeout in milliseconds (default: the integration's own). */
  requestTimeoutMs?: number;
  /** How the user raises that timeout, named in timeout errors (e.g. `--request-timeout <ms>`). */
  requestTimeoutSetting?: string;
  /** Called when a request failed and will be tried again, e.g. for a progress line. */
  onRetry?: (retry: RetryNotice) => void;
}

export interface RetryNotice {
  /** The request that is retried, e.g. `/users/track`. */
  request: string;
  /** The attempt that just failed (1 for the first). */
  attempt: number;
  /** Why it failed, e.g. `timeout after 30000 ms`; never a credential. */
  error: string;
  delayMs: number;
}

/** How rows of an import file become a function's arguments. */
export interface ImportSpec {
  /** The function each row calls, e.g. `identify_user`. */
  function: string;
  /** Columns that are not parameters of the function go into this object parameter, e.g. `data`. */
  dataField: string;
}

export interface Integration<Client = unknown, Plan extends WritePlan = WritePlan> {
  /** Namespace under `app.integrations`, e.g. `vero`. */
  name: string;
  title: string;
  accounts: AccountEnvironment;
  functions: Array<IntegrationFunction<Client, Plan>>;
  /**
   * A client for the account. `queued`: for the outbox's deliveries, which retry on their own schedule, so the
   * client should not retry and should give up on a hung request sooner. `options`: the runtime-wide settings.
   */
  createClient(account: Account, use: 'direct' | 'queued', options?: ClientOptions): Client;
  /**
   * Where the client sends (its normalised API base). With the credential it names a write's destination:
   * queued writes are delivered only by an account with the same endpoint and credential.
   */
  endpoint(client: Client): string;
  send(client: Client, plan: Plan): Promise<SendOutcome>;
  /**
   * How the outbox treats a failed queued delivery: the write's own fault (`retryable: false`, dead at once), a
   * refused credential (`pauseDestination`), worth a few attempts (`maxAttempts`), or worth retrying for as long as
   * the outbox's retry window lasts (the default).
   */
  queuedFailure?(error: unknown): QueuedFailure;
  /** The exact request a plan turns into, with the credential redacted. */
  preview(client: Client, plan: Plan): unknown;
  /** Bulk imports `kosmo-vero import` offers, by kind (e.g. `users`, `events`). */
  imports?: Record<string, ImportSpec>;
  /** A live connectivity check that changes nothing. */
  probe(client: Client): Promise<ProbeResult>;
  /** What the probe can and cannot verify, said plainly to whoever runs `accounts test`. */
  probeNote: string;
  /**
   * Set when the bundled emulator (`src/emulator`, `kosmo-vero emulator`) stands in for this integration's service:
   * `--emulator` points this integration's accounts, and only those, at it, with `demoCredential` for a default
   * account none configured. An integration without one keeps its accounts as configured.
   */
  emulator?: { demoCredential: string };
  /** Hand-written markdown sections appended to the generated reference, in order. */
  guide: string[];
  /** Heading of the section listing functions beyond the published reference. */
  extrasHeading?: string;
  /** Hand-written markdown sections placed after the functions beyond the published reference, in order. */
  notes?: string[];
}

export const fullNameOf = (integration: { name: string }, fn: { name: string }): string =>
  `${integration.name}.${fn.name}`;
export const slugOf = (integration: { name: string }, fn: { name: string }): string =>
  `${integration.name}_${fn.name}`;
