import type { LuaHost, LuaNamespace } from '../lua/index.js';
import type { CallRecord } from './call-log.js';
import type { DocPage, DocSearchHit } from './docs.js';
import { UnknownDocPageError } from './errors.js';
import type { CallOptions, FunctionInfo } from './runtime-types.js';

/** What a Lua run needs of the runtime: its functions, account names, calls and docs; nothing else. */
export interface LuaHostRuntime {
  functions(): FunctionInfo[];
  accountNames(integration: string): string[];
  howToAddAccount(integration: string, name: string): string | undefined;
  call(name: string, args: unknown, options: CallOptions): Promise<Record<string, unknown>>;
  readDoc(page: string): string;
  listDocs(): DocPage[];
  searchDocs(query: string): DocSearchHit[];
}

export interface LuaRunHost {
  host: LuaHost;
  /** Every call the script made, as the call log recorded it. */
  calls: CallRecord[];
  /** Resolves once no call is in flight: a run ended by a limit may have left one reaching its service. */
  settled(): Promise<void>;
}

/**
 * The host side of one Lua run: the script's view of the runtime. The sandbox sees function and account names,
 * never a credential; every call goes through `runtime.call`, so validation, permissions and dry-run apply.
 */
export function luaHostFor(runtime: LuaHostRuntime, defaults: CallOptions): LuaRunHost {
  const byIntegration = new Map<string, FunctionInfo[]>();
  for (const fn of runtime.functions()) {
    byIntegration.set(fn.integration, [...(byIntegration.get(fn.integration) ?? []), fn]);
  }
  const namespaces: LuaNamespace[] = [...byIntegration].map(([integration, functions]) => ({
    integration,
    functions: functions.map((fn) => fn.name),
    aliases: Object.fromEntries(functions.map((fn) => [fn.slug, fn.name])),
    accounts: runtime.accountNames(integration).filter((name) => name !== 'default'),
    // The schema's property order is the declared order positional arguments map onto.
    parameters: Object.fromEntries(
      functions.map((fn) => [fn.name, Object.keys((fn.parameters.properties as object | undefined) ?? {})]),
    ),
    addAccount: runtime.howToAddAccount(integration, '<NAME>'),
  }));
  const calls: CallRecord[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const host: LuaHost = {
    namespaces,
    call: ({ integration, fn, account, args }) => {
      const call = runtime.call(`${integration}.${fn}`, args, {
        ...defaults,
        account: account ?? defaults.account,
        trace: (record) => calls.push(record),
      });
      inFlight.add(call);
      const forget = () => inFlight.delete(call);
      call.then(forget, forget);
      return call;
    },
    // An unknown page answers with text, as KosmoKrator's lua_read_doc does; other errors (bounds) still raise.
    readDoc: (page) => {
      try {
        return runtime.readDoc(page);
      } catch (error) {
        if (error instanceof UnknownDocPageError) return error.message;
        throw error;
      }
    },
    listDocs: () => runtime.listDocs(),
    searchDocs: (query) => runtime.searchDocs(query),
  };
  return {
    host,
    calls,
    settled: async () => {
      await Promise.allSettled([...inFlight]);
    },
  };
}
