import type { LuaHost, LuaNamespace } from '../lua/index.js';
import type { CallRecord } from './call-log.js';
import type { CallOptions, Runtime } from './runtime.js';

/**
 * The host side of one Lua run: the script's view of the runtime. The sandbox sees function and account names,
 * never a credential; every call goes through `runtime.call`, so validation, permissions and dry-run apply.
 */
export function luaHostFor(runtime: Runtime, defaults: CallOptions, calls: CallRecord[]): LuaHost {
  const byIntegration = new Map<string, string[]>();
  for (const fn of runtime.functions()) {
    byIntegration.set(fn.integration, [...(byIntegration.get(fn.integration) ?? []), fn.name]);
  }
  const namespaces: LuaNamespace[] = [...byIntegration].map(([integration, functions]) => ({
    integration,
    functions,
    aliases: Object.fromEntries(functions.map((name) => [`${integration}_${name}`, name])),
    accounts: runtime.accountNames(integration).filter((name) => name !== 'default'),
  }));
  return {
    namespaces,
    call: ({ integration, fn, account, args }) =>
      runtime.call(`${integration}.${fn}`, args, {
        ...defaults,
        account: account ?? defaults.account,
        trace: (record) => calls.push(record),
      }),
    readDoc: (page) => runtime.readDoc(page),
    listDocs: () => runtime.listDocs(),
    searchDocs: (query) => runtime.searchDocs(query),
  };
}
