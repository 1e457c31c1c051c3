import { toErrorInfo } from '../errors.js';
import type {
  Account,
  ImportSpec,
  Integration,
  IntegrationFunction,
  WritePlan,
} from '../integrations/definition.js';
import { fullNameOf, slugOf } from '../integrations/definition.js';
import { type LuaLimits, LuaPool, resolveLimits } from '../lua/index.js';
import {
  type DestinationInput,
  type JobOutcome,
  type JobTally,
  Outbox,
  type OutboxJob,
  type WaitOptions,
} from '../outbox/index.js';
import { maskCredential } from '../secrets.js';
import { didYouMean, MAX_NAME_LENGTH, quoteName } from '../suggest.js';
import { AccountRegistry } from './accounts.js';
import { CallLog, type CallRecord, type CallStatus } from './call-log.js';
import { checkIntegrationKeys, parseRuntimeConfig, type RuntimeConfig, readRuntimeConfig } from './config.js';
import { DocLibrary, type DocPage, type DocSearchHit } from './docs.js';
import { ConfigError, QueuedDeliveryError, UnknownFunctionError } from './errors.js';
import { readImportFile } from './import-file.js';
import { luaHostFor } from './lua-host.js';
import { checkPermission, type PermissionPolicy } from './permissions.js';
import type {
  AccountInfo,
  AccountTest,
  CallOptions,
  DeliveryMode,
  FunctionInfo,
  ImportOptions,
  ImportSummary,
  LuaScriptResult,
  RunLuaOptions,
  RuntimeOptions,
  SettingNames,
} from './runtime-types.js';
import { checkArgumentSize, jsonSchemaOf, validateArguments } from './validate-arguments.js';

export type * from './runtime-types.js';

interface ResolvedFunction {
  integration: Integration;
  fn: IntegrationFunction;
  fullName: string;
  jsonSchema: ReturnType<typeof jsonSchemaOf>;
}

export type CallResult = Record<string, unknown>;

// The default account's credential in a dry run with none configured: previews redact it, nothing is sent.
const DRY_RUN_CREDENTIAL = 'dry-run-sends-nothing';

const LIBRARY_SETTING_NAMES: SettingNames = {
  readOnly: 'readOnly: true',
  dryRun: 'dryRun: true',
  requestTimeout: 'requestTimeoutMs',
};

/** The settings an integration shows in account listings (e.g. Vero's `email`); never a credential. */
function listedSettings(integration: Integration, account: Account): Record<string, string> {
  return Object.fromEntries(
    (integration.accounts.listed ?? []).flatMap((setting) => {
      const value = account.settings[setting];
      return value === undefined ? [] : [[setting, value]];
    }),
  );
}

/** The one entry point Lua, MCP, the CLI and library users call integration functions through. */
export class Runtime {
  private docLibrary: DocLibrary | undefined;
  private readonly integrations: Integration[];
  private readonly byName = new Map<string, ResolvedFunction>();
  private readonly functionList: FunctionInfo[];
  private readonly accountsByIntegration = new Map<string, AccountRegistry>();
  private readonly clients = new Map<string, unknown>();
  private readonly log: CallLog;
  private readonly options: RuntimeOptions;
  private readonly policy: PermissionPolicy;
  private readonly config: RuntimeConfig;
  private readonly settingNames: SettingNames;
  private outboxInstance: Outbox | undefined;
  private luaPool: LuaPool | undefined;

  constructor(options: RuntimeOptions = {}) {
    this.options = options;
    const origin = typeof options.config === 'string' ? `config file ${options.config}` : 'the config option';
    const config =
      typeof options.config === 'string'
        ? readRuntimeConfig(options.config)
        : parseRuntimeConfig(options.config ?? {}, origin);
    this.config = config;
    // Which integrations exist is chosen at the edges (the library entry, the CLI): the runtime names none itself.
    this.integrations = options.integrations ?? [];
    const names = this.integrations.map((integration) => integration.name);
    checkIntegrationKeys(config, names, origin);
    const { permissions } = parseRuntimeConfig(
      { permissions: options.permissions },
      'the permissions option',
    );
    checkIntegrationKeys({ permissions }, names, 'the permissions option');
    this.policy = { ...config.permissions, ...permissions };
    this.settingNames = { ...LIBRARY_SETTING_NAMES, ...options.settingNames };
    for (const integration of this.integrations) {
      this.accountsByIntegration.set(
        integration.name,
        new AccountRegistry(integration, options.env ?? process.env, config.accounts?.[integration.name], {
          baseUrl: options.baseUrl,
          fallbackCredential: options.fallbackCredential ?? (options.dryRun ? DRY_RUN_CREDENTIAL : undefined),
          ...options.overrides?.[integration.name],
        }),
      );
      for (const fn of integration.functions) {
        const resolved = {
          integration,
          fn,
          fullName: fullNameOf(integration, fn),
          jsonSchema: jsonSchemaOf(fn.schema),
        };
        for (const alias of [
          resolved.fullName,
          slugOf(integration, fn),
          `${integration.name}.${slugOf(integration, fn)}`,
        ]) {
          this.byName.set(alias, resolved);
        }
      }
    }
    this.functionList = [...new Set(this.byName.values())].map(
      ({ integration, fn, fullName, jsonSchema }) => ({
        integration: integration.name,
        name: fn.name,
        fullName,
        slug: slugOf(integration, fn),
        description: fn.description,
        toolDescription: fn.toolDescription ?? fn.description,
        operation: fn.operation,
        extra: fn.extra ?? false,
        destructive: fn.destructive ?? false,
        idempotent: fn.idempotent ?? false,
        parameters: jsonSchema,
      }),
    );
    this.log = new CallLog(
      [...this.accountsByIntegration.values()].flatMap((registry) => registry.secrets()),
    );
  }

  /** Rendered at the first read: most runs and calls never open a page. */
  private get docs(): DocLibrary {
    this.docLibrary ??= new DocLibrary(this.integrations);
    return this.docLibrary;
  }

  functions(): FunctionInfo[] {
    return this.functionList;
  }

  /** Per integration, the environment variables that configure its accounts (for help texts). */
  accountVariables(): Array<{ integration: string; variables: string }> {
    return [...this.accountsByIntegration.values()].map((registry) => ({
      integration: registry.integration,
      variables: registry.variables(),
    }));
  }

  /** Configured account names of an integration, `default` first when configured. */
  accountNames(integration: string): string[] {
    return this.accountsByIntegration.get(integration)?.names() ?? [];
  }

  /** Every configured account with its credential masked and the API base it actually sends to. */
  accounts(): AccountInfo[] {
    return this.integrations.flatMap((integration) => {
      const registry = this.accountRegistry(integration);
      return registry.names().map((name) => {
        try {
          const account = registry.resolve(name);
          return {
            integration: integration.name,
            name,
            credential_kind: account.credential.kind,
            credential_hint: maskCredential(account.credential.value),
            base_url: integration.endpoint(this.clientFor(integration, account)),
            settings: listedSettings(integration, account),
          };
        } catch (error) {
          return {
            integration: integration.name,
            name,
            credential_kind: null,
            credential_hint: null,
            base_url: null,
            settings: {},
            error: (error as Error).message,
          };
        }
      });
    });
  }

  /**
   * Throws the unknown-account error (with how to add it) when no integration has an account of this name: the CLI
   * checks `--account` before running anything.
   */
  checkAccount(name: string): void {
    const registries = this.integrations.map((integration) => this.accountRegistry(integration));
    if (registries.some((registry) => registry.names().includes(name.toLowerCase()))) return;
    registries[0]?.resolve(name);
  }

  /** How to configure a missing account of an integration, e.g. `Set VERO_MARKETING_AUTH_TOKEN to add it.` */
  howToAddAccount(integration: string, name: string): string | undefined {
    return this.accountsByIntegration.get(integration)?.howToAdd(name);
  }

  /** Probes each configured account (or the named one) of every integration; changes nothing. */
  async testAccounts(name?: string): Promise<AccountTest[]> {
    const tests: AccountTest[] = [];
    for (const integration of this.integrations) {
      const registry = this.accountRegistry(integration);
      const names = name ? [name] : registry.names();
      for (const accountName of names) {
        const account = registry.resolve(accountName);
        const client = this.clientFor(integration, account);
        const probe = await integration.probe(client);
        tests.push({
          integration: integration.name,
          account: account.name,
          base_url: integration.endpoint(client),
          ok: probe.ok,
          status: probe.status ?? null,
          latency_ms: Math.round(probe.latencyMs),
          error: probe.error ?? null,
          note: integration.probeNote,
        });
      }
    }
    return tests;
  }

  /** A doc page by name; an integration's or a function's own name (`vero`, `track_event`) finds its page too. */
  readDoc(page: string, listHint?: string): string {
    return this.docs.read(page, listHint);
  }

  listDocs(): DocPage[] {
    return this.docs.list();
  }

  searchDocs(query: string): DocSearchHit[] {
    return this.docs.search(query);
  }

  /** Calls recorded after `afterSeq` (everything kept when omitted). */
  calls(afterSeq = 0): CallRecord[] {
    return this.log.entries(afterSeq);
  }

  get lastCallSeq(): number {
    return this.log.lastSeq;
  }

  /** resolve account -> validate -> permission -> dry-run -> deliver -> result. */
  async call(name: string, args: unknown, options: CallOptions = {}): Promise<CallResult> {
    const started = performance.now();
    const startedAt = new Date().toISOString();
    // Read before validation and permission prompts: a write records when the agent called, not when it was allowed.
    const calledAt = this.options.now?.() ?? new Date();
    let resolved: ResolvedFunction | undefined;
    // Until resolved, the names are the caller's and may be of any length: the call log keeps them cut.
    let accountName: string | null = options.account?.slice(0, MAX_NAME_LENGTH).toLowerCase() ?? 'default';
    let argsFit = false;
    const finish = (
      status: CallStatus,
      { error, outboxId, request }: { error?: unknown; outboxId?: number; request?: unknown } = {},
    ) => {
      const record = this.log.record({
        outbox_id: outboxId,
        request,
        function_name: resolved?.fullName ?? name.slice(0, MAX_NAME_LENGTH),
        account: accountName,
        // Arguments not known to be within bounds are not kept: the log would hold (and scrub, recursively) them.
        args: argsFit ? args : '[not recorded]',
        status,
        error: error ? toErrorInfo(error) : undefined,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
        started_at: startedAt,
      });
      options.trace?.(record);
    };
    try {
      resolved = this.resolveFunction(name);
      checkArgumentSize(resolved.fullName, args, options.maxArgBytes ?? this.defaultLimits.maxArgBytes);
      argsFit = true;
      const { integration, fn, fullName, jsonSchema } = resolved;
      const account = this.accountRegistry(integration).resolve(options.account);
      accountName = account.name;
      const valid = validateArguments(fullName, fn.schema, jsonSchema, args);
      await checkPermission(
        this.policy,
        options.readOnly ?? this.options.readOnly ?? false,
        this.options.ask,
        {
          fullName,
          integration: integration.name,
          operation: fn.operation,
          account: account.name,
          args: valid,
        },
        this.settingNames,
      );
      const client = this.clientFor(integration, account);
      const dryRun = options.dryRun ?? this.options.dryRun ?? false;
      if (fn.operation === 'read') {
        const context = { account, client };
        if (dryRun) {
          // A dry run sends nothing, reads included (a read still reaches the service): say what it would send.
          const request = fn.preview(valid, context);
          finish('dry_run', { request });
          return { status: 'dry_run', function_name: fullName, account: account.name, request };
        }
        const result = await fn.read(valid, context);
        finish('ok');
        return result;
      }
      const plan = fn.plan(valid, { now: calledAt });
      const base = { function_name: fullName, account: account.name, ...plan.subject };
      if (dryRun) {
        const request = integration.preview(client, plan);
        finish('dry_run', { request });
        return { status: 'dry_run', ...base, request };
      }
      if (this.deliveryMode(account, options) === 'queued') {
        // The wire client's own checks run now, so nothing is accepted that could only fail later.
        integration.preview(client, plan);
        const queued = await this.outbox().enqueue({
          destination: this.destinationOf(integration, account, client),
          fn: fn.name,
          orderingKeys: plan.orderingKeys,
          payload: plan,
        });
        if (this.options.background !== false) this.outbox().start();
        finish('queued', { outboxId: queued.id });
        return { status: 'queued', ...base, outbox_id: queued.id, key: queued.key };
      }
      const outcome = await integration.send(client, plan);
      const status = outcome.duplicate ? 'duplicate' : 'sent';
      finish(status);
      return { status, ...base, message: outcome.message };
    } catch (error) {
      finish('error', { error });
      throw error;
    }
  }

  /**
   * Calls an integration's import function for every row of a CSV or JSONL file; writes are queued unless
   * `delivery` says otherwise. A bad row is reported with its line and skipped; it never stops the import.
   */
  async importFile(path: string, options: ImportOptions): Promise<ImportSummary> {
    const { integration, spec } = this.importOf(options);
    const fullName = `${integration.name}.${spec.function}`;
    const { jsonSchema } = this.resolveFunction(fullName);
    const required = Array.isArray(jsonSchema.required) ? (jsonSchema.required as string[]) : [];
    const rows = await readImportFile(path, Object.keys(jsonSchema.properties ?? {}), spec, required);
    const summary: ImportSummary = {
      function_name: fullName,
      rows: 0,
      accepted: 0,
      failed: [],
      outbox_ids: [],
    };
    // Rows are read as they are queued: memory stays flat in the file's size.
    for await (const row of rows) {
      summary.rows++;
      if (!row.args) {
        summary.failed.push({
          line: row.line,
          code: 'invalid_row',
          message: row.problem ?? 'unreadable row',
        });
      } else {
        try {
          const result = await this.call(fullName, row.args, {
            account: options.account,
            delivery: options.delivery ?? 'queued',
          });
          summary.accepted++;
          if (typeof result.outbox_id === 'number') summary.outbox_ids.push(result.outbox_id);
        } catch (error) {
          const { code, message } = toErrorInfo(error);
          summary.failed.push({ line: row.line, code, message });
        }
      }
      options.onProgress?.({ rows: summary.rows, accepted: summary.accepted, failed: summary.failed.length });
    }
    return summary;
  }

  /** The outbox queued writes go to, opened on first use; it delivers with this runtime's accounts only. */
  outbox(): Outbox {
    this.outboxInstance ??= new Outbox({
      path: this.options.outbox ?? this.env.KOSMO_VERO_OUTBOX ?? this.config.outbox ?? Outbox.defaultPath(),
      deliver: (job) => this.deliverQueued(job),
      now: () => this.options.now?.().getTime() ?? Date.now(),
      ...this.config.queue,
      ...this.options.queue,
      destinations: this.heldDestinations(),
    });
    return this.outboxInstance;
  }

  /**
   * Moves the pending and dead queued writes of destination `from` (0: writes queued before destinations were
   * recorded) to a configured account of the same integration, e.g. after rotating its credential. Returns how
   * many moved.
   */
  async moveQueuedWrites(from: number, accountName: string): Promise<number> {
    const outbox = this.outbox();
    const withWrites = (await outbox.status()).destinations.filter((d) => d.pending + d.dead > 0);
    const source = withWrites.find((d) => d.id === from);
    if (!source) {
      const known = withWrites.map((d) => `#${d.id}`);
      throw new ConfigError(
        `no pending or dead writes wait for destination #${from} (${
          known.length > 0 ? `destinations with writes: ${known.join(', ')}` : 'none has any'
        }); see \`kosmo-vero outbox status\``,
      );
    }
    const integration = this.integrations.find((candidate) => candidate.name === source.integration);
    if (!integration) throw new UnknownFunctionError(`integration "${source.integration}" is not loaded`);
    const account = this.accountRegistry(integration).resolve(accountName);
    return outbox.move(from, this.destinationOf(integration, account, this.clientFor(integration, account)));
  }

  /** The environment variable that would give this account of an integration its credential (for hints). */
  credentialVariable(integration: string, account: string): string | undefined {
    return this.accountsByIntegration.get(integration)?.credentialVariableFor(account);
  }

  /**
   * Waits until the queued writes are delivered or dead (or the timeout passes); delivers them meanwhile.
   * `onProgress` hears how many are settled each time that number grows.
   */
  async waitForDelivery(
    ids: number[],
    timeoutMs?: number,
    onProgress?: (finished: number, total: number) => void,
  ): Promise<JobOutcome[]> {
    if (ids.length === 0) return [];
    const outbox = this.outbox();
    outbox.start();
    // The outbox decides when the wait is over (delivered, dead, discarded, or held by a paused destination), and
    // counts what is settled as outcomes arrive: nothing reads every id again to report progress.
    return outbox.waitFor(ids, { timeoutMs, onProgress });
  }

  /**
   * `waitForDelivery` for many writes (an import's): counts by state, with the first `details` (default 10) of those
   * not delivered, instead of an outcome per write; memory stays at a few bytes a write.
   */
  async waitForDeliveryTally(
    ids: number[],
    options: WaitOptions & { details?: number } = {},
  ): Promise<JobTally> {
    const outbox = this.outbox();
    outbox.start();
    return outbox.waitForTally(ids, options);
  }

  /** Runs a Lua script in the sandbox; its `app.integrations.*` calls go through `call` with these options. */
  async runLua(code: string, options: RunLuaOptions = {}): Promise<LuaScriptResult> {
    const { account, dryRun, readOnly, delivery, ...limits } = options;
    this.luaPool ??= this.options.luaPool ?? new LuaPool(this.options.lua);
    // The sandbox enforces the run's own argument limit, which may be raised above the default: calls take it too.
    const { maxArgBytes } = resolveLimits(this.defaultLimits, limits);
    const { host, calls, settled } = luaHostFor(this, { account, dryRun, readOnly, delivery, maxArgBytes });
    const run = await this.luaPool.run(code, host, limits);
    // A run ended by a limit can leave a call on its way to its service: report it rather than lose track of it.
    await settled();
    return {
      ok: run.ok,
      output: run.output,
      result: run.result,
      calls,
      error: run.error ?? null,
      stats: run.stats,
    };
  }

  async close(): Promise<void> {
    await (this.luaPool ?? this.options.luaPool)?.close();
    await this.outboxInstance?.close();
    this.clients.clear();
  }

  /** The Lua pool's default limits; calls from outside Lua get the same argument bounds. */
  private get defaultLimits(): LuaLimits {
    return this.options.luaPool?.limits ?? resolveLimits(this.options.lua?.limits);
  }

  private get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  private deliveryMode(account: Account, options: CallOptions): DeliveryMode {
    const mode =
      options.delivery ??
      account.settings.delivery ??
      this.options.delivery ??
      this.config.delivery ??
      this.env.KOSMO_VERO_DELIVERY ??
      'direct';
    if (mode !== 'direct' && mode !== 'queued') {
      throw new ConfigError(
        `delivery mode "${mode}" is not one of direct, queued (check KOSMO_VERO_DELIVERY)`,
      );
    }
    return mode;
  }

  /**
   * Sends one queued write with the local account the outbox matched to its destination (same endpoint and
   * credential); jobs hold a fingerprint of the credential, never the credential.
   */
  private async deliverQueued(job: OutboxJob): Promise<unknown> {
    const integration = this.integrations.find((candidate) => candidate.name === job.destination.integration);
    let client: unknown;
    try {
      if (!integration) {
        throw new UnknownFunctionError(`integration "${job.destination.integration}" is not loaded`);
      }
      // The account is resolved (a copy of its settings) only until its queued client exists: accounts do not
      // change during a runtime's life.
      client =
        this.clients.get(clientKey(integration, job.account, 'queued')) ??
        this.clientFor(integration, this.accountRegistry(integration).resolve(job.account), 'queued');
    } catch (error) {
      // Not the write's fault: its destination waits until the configuration is there again.
      throw new QueuedDeliveryError(error, { pauseDestination: true });
    }
    try {
      // The payload is a plan this integration made when the write was accepted, stored as JSON.
      return await integration.send(client, job.payload as WritePlan);
    } catch (error) {
      throw new QueuedDeliveryError(error, integration.queuedFailure?.(error) ?? {});
    }
  }

  private destinationOf(integration: Integration, account: Account, client: unknown): DestinationInput {
    return {
      integration: integration.name,
      account: account.name,
      endpoint: integration.endpoint(client),
      credential: account.credential.value,
    };
  }

  /** Every configured account that can send: the destinations this runtime's outbox delivers to. */
  private heldDestinations(): DestinationInput[] {
    return this.integrations.flatMap((integration) => {
      const registry = this.accountRegistry(integration);
      return registry.names().flatMap((name) => {
        try {
          const account = registry.resolve(name);
          return [this.destinationOf(integration, account, this.clientFor(integration, account))];
        } catch {
          // No credential, or settings its client refuses: it cannot deliver, so it holds nothing.
          return [];
        }
      });
    });
  }

  /** The integration whose import of this kind is meant: the one named, else the only one that has it. */
  private importOf(options: ImportOptions): { integration: Integration; spec: ImportSpec } {
    const offering = this.integrations.flatMap((integration) => {
      const spec = integration.imports?.[options.kind];
      const named = options.integration === undefined || options.integration === integration.name;
      return spec && named ? [{ integration, spec }] : [];
    });
    const only = offering.length === 1 ? offering[0] : undefined;
    if (only) return only;
    const kinds = this.integrations.flatMap((i) =>
      Object.keys(i.imports ?? {}).map((kind) => `${i.name} ${kind}`),
    );
    const why =
      offering.length === 0
        ? `no import of "${options.kind}"${options.integration ? ` in ${quoteName(options.integration)}` : ''}`
        : `several integrations import "${options.kind}" (${offering.map((o) => o.integration.name).join(', ')}); name one`;
    throw new UnknownFunctionError(`${why} (available: ${kinds.join(', ') || 'none'})`);
  }

  private resolveFunction(name: string): ResolvedFunction {
    const found = this.byName.get(name) ?? this.uniqueShortName(name);
    if (found) return found;
    const names = this.functions().map((fn) => fn.fullName);
    throw new UnknownFunctionError(
      `unknown function ${quoteName(name)}.${didYouMean(name, names)} Functions: ${names.join(', ')}.`,
    );
  }

  private uniqueShortName(name: string): ResolvedFunction | undefined {
    const matches = [...new Set(this.byName.values())].filter(({ fn }) => fn.name === name);
    return matches.length === 1 ? matches[0] : undefined;
  }

  private accountRegistry(integration: Integration): AccountRegistry {
    const registry = this.accountsByIntegration.get(integration.name);
    if (!registry) throw new UnknownFunctionError(`integration "${integration.name}" is not loaded`);
    return registry;
  }

  private clientFor(
    integration: Integration,
    account: Account,
    use: 'direct' | 'queued' = 'direct',
  ): unknown {
    const key = clientKey(integration, account.name, use);
    let client = this.clients.get(key);
    if (!client) {
      const { onRetry } = this.options;
      client = integration.createClient(account, use, {
        requestTimeoutMs: this.options.requestTimeoutMs ?? this.config.requestTimeoutMs,
        requestTimeoutSetting: this.settingNames.requestTimeout,
        onRetry: onRetry
          ? (retry) => onRetry({ ...retry, integration: integration.name, account: account.name })
          : undefined,
      });
      this.clients.set(key, client);
    }
    return client;
  }
}

/** The client cache's key: one client per integration, local account and use. */
const clientKey = (integration: Integration, account: string, use: 'direct' | 'queued'): string =>
  `${integration.name}/${account}/${use}`;
