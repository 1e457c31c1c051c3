import type { AccountEnvironment } from './definition.js';
import { veroAccounts } from './vero/accounts.js';

/**
 * How each built-in integration's accounts are configured, without loading the integrations (their schemas and
 * clients): `kosmo-vero --help` lists them and must start fast. The same integrations, in the same order, as
 * builtinIntegrations (test/cli/help.test.ts holds the two lists equal).
 */
export const builtinAccountEnvironments: Array<{ integration: string; accounts: AccountEnvironment }> = [
  { integration: 'vero', accounts: veroAccounts },
];
