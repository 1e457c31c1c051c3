import type { Account, AccountEnvironment, Integration } from '../integrations/definition.js';
import { didYouMean, MAX_NAME_LENGTH, quoteName } from '../suggest.js';
import { MissingCredentialError, UnknownAccountError } from './errors.js';

export const DEFAULT_ACCOUNT = 'default';

/** `AUTH_TOKEN` -> `authToken`: the config file spells environment variables in camelCase. */
const camelCase = (variable: string): string =>
  variable.toLowerCase().replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());

/** The integration's settings plus the generic ones every account may set. */
const accountSettings = (spec: AccountEnvironment): Record<string, string> => ({
  ...spec.settings,
  delivery: 'DELIVERY',
});

/** Which environment variables configure an integration's accounts, in one line for help texts. */
export function accountVariables(spec: AccountEnvironment): string {
  const credentials = spec.credentials.map((c) => `${spec.prefix}_${c.variable}`).join(' or ');
  const settings = Object.values(accountSettings(spec)).map((variable) => `${spec.prefix}_${variable}`);
  const primary = spec.credentials[0]?.variable ?? 'TOKEN';
  return `${credentials}, ${settings.join(', ')}; a named account: ${spec.prefix}_<NAME>_${primary}, ...`;
}

interface PartialAccount {
  credential?: { kind: string; value: string };
  settings: Record<string, string>;
}

function fromEnvironment(spec: AccountEnvironment, env: NodeJS.ProcessEnv): Map<string, PartialAccount> {
  const variables = [
    ...spec.credentials.map(({ variable, kind }) => ({ variable, credentialKind: kind, setting: undefined })),
    ...Object.entries(accountSettings(spec)).map(([setting, variable]) => ({
      variable,
      credentialKind: undefined,
      setting,
    })),
  ];
  const found = new Map<string, PartialAccount>();
  for (const [key, value] of Object.entries(env)) {
    if (!value || !key.startsWith(`${spec.prefix}_`)) continue;
    const rest = key.slice(spec.prefix.length + 1);
    for (const { variable, credentialKind, setting } of variables) {
      if (rest !== variable && !rest.endsWith(`_${variable}`)) continue;
      const name = rest === variable ? DEFAULT_ACCOUNT : rest.slice(0, -variable.length - 1).toLowerCase();
      const account = found.get(name) ?? { settings: {} };
      found.set(name, account);
      if (setting) account.settings[setting] = value;
      else if (credentialKind)
        account.credential = preferred(spec, account.credential, credentialKind, value);
      break;
    }
  }
  return found;
}

function preferred(
  spec: AccountEnvironment,
  current: PartialAccount['credential'],
  kind: string,
  value: string,
): { kind: string; value: string } {
  if (!current) return { kind, value };
  const rank = (k: string) => spec.credentials.findIndex((c) => c.kind === k);
  return rank(kind) < rank(current.kind) ? { kind, value } : current;
}

function fromConfig(spec: AccountEnvironment, accounts: Record<string, Record<string, string>>) {
  const found = new Map<string, PartialAccount>();
  for (const [rawName, settings] of Object.entries(accounts)) {
    const account: PartialAccount = { settings: {} };
    for (const { variable, kind } of spec.credentials) {
      const value = settings[camelCase(variable)];
      if (value && !account.credential) account.credential = { kind, value };
    }
    for (const setting of Object.keys(accountSettings(spec))) {
      const value = settings[setting];
      if (value) account.settings[setting] = value;
    }
    found.set(rawName.toLowerCase(), account);
  }
  return found;
}

/** What a runtime changes in every account of one integration (dev mode: point them at an emulator). */
export interface AccountOverrides {
  /** The API base every account sends to (the integration's `endpointSetting`). */
  baseUrl?: string;
  /** The credential of a default account when none is configured. */
  fallbackCredential?: string;
}

/** The accounts of one integration, resolved once per runtime. */
export class AccountRegistry {
  readonly integration: string;
  private readonly accounts: Map<string, PartialAccount>;
  private readonly credentialVariables: string;
  private readonly prefix: string;
  private readonly primaryVariable: string;
  private readonly spec: AccountEnvironment;

  constructor(
    integration: Integration,
    env: NodeJS.ProcessEnv,
    configAccounts: Record<string, Record<string, string>> | undefined,
    overrides: AccountOverrides = {},
  ) {
    const spec = integration.accounts;
    this.spec = spec;
    this.integration = integration.name;
    this.prefix = spec.prefix;
    this.primaryVariable = spec.credentials[0]?.variable ?? 'TOKEN';
    this.credentialVariables = spec.credentials.map((c) => `${spec.prefix}_${c.variable}`).join(' or ');
    // The config file was asked for explicitly, so its accounts win over the environment's.
    this.accounts = new Map([...fromEnvironment(spec, env), ...fromConfig(spec, configAccounts ?? {})]);
    // The default account's shared settings (VERO_BASE_URL) apply to every account that does not set its own.
    const inherited = spec.inherited ?? [];
    const defaults = this.accounts.get(DEFAULT_ACCOUNT);
    const shared = Object.fromEntries(
      inherited.flatMap((setting) => {
        const value = defaults?.settings[setting];
        return value === undefined ? [] : [[setting, value]];
      }),
    );
    for (const [name, account] of this.accounts) {
      if (name !== DEFAULT_ACCOUNT) account.settings = { ...shared, ...account.settings };
    }
    // Shared settings alone do not make a default account: it needs a credential or settings of its own.
    if (
      defaults &&
      !defaults.credential &&
      Object.keys(defaults.settings).every((setting) => inherited.includes(setting))
    ) {
      this.accounts.delete(DEFAULT_ACCOUNT);
    }
    const fallbackKind = spec.credentials[0]?.kind;
    if (overrides.fallbackCredential && fallbackKind && !this.accounts.get(DEFAULT_ACCOUNT)?.credential) {
      this.accounts.set(DEFAULT_ACCOUNT, {
        credential: { kind: fallbackKind, value: overrides.fallbackCredential },
        settings: { ...shared, ...this.accounts.get(DEFAULT_ACCOUNT)?.settings },
      });
    }
    const endpoint = spec.endpointSetting;
    if (overrides.baseUrl && endpoint) {
      for (const account of this.accounts.values()) account.settings[endpoint] = overrides.baseUrl;
    }
  }

  /** Which environment variables configure this integration's accounts, in one line for help texts. */
  variables(): string {
    return accountVariables(this.spec);
  }

  /** Configured account names, `default` first when there is one. */
  names(): string[] {
    return [...this.accounts.keys()].sort((a, b) =>
      a === DEFAULT_ACCOUNT ? -1 : b === DEFAULT_ACCOUNT ? 1 : a.localeCompare(b),
    );
  }

  resolve(requested: string | undefined): Account {
    if (requested !== undefined && requested.length > MAX_NAME_LENGTH) {
      throw new UnknownAccountError(
        `${this.integration}: unknown account ${quoteName(requested)}: account names are at most ${MAX_NAME_LENGTH} characters (${this.listing()}).`,
      );
    }
    const name = (requested ?? DEFAULT_ACCOUNT).toLowerCase();
    const account = this.accounts.get(name);
    if (!account) {
      throw new UnknownAccountError(
        `${this.integration}: unknown account ${quoteName(name)} (${this.listing()}).${didYouMean(name, this.names())} ${this.howToAdd(name)}`,
      );
    }
    if (!account.credential) {
      throw new MissingCredentialError(
        `${this.integration}: account "${name}" has settings but no credential. Set ${this.credentialVariableFor(name)}.`,
      );
    }
    return { name, credential: account.credential, settings: { ...account.settings } };
  }

  /** For messages; built only when one is (resolve runs for every queued delivery). */
  private listing(): string {
    const configured = this.names();
    return configured.length > 0 ? `configured: ${configured.join(', ')}` : 'no account is configured';
  }

  /**
   * How to configure an account that is missing, e.g. `Set VERO_NOSUCH_AUTH_TOKEN to add it.`; `name` may be the
   * placeholder `<NAME>` (the Lua sandbox fills it in for the name a script used).
   */
  howToAdd(name: string): string {
    return name === DEFAULT_ACCOUNT
      ? `Set ${this.credentialVariables} for the default account.`
      : `Set ${this.prefix}_${name.toUpperCase()}_${this.primaryVariable} to add it.`;
  }

  /** The environment variable that gives an account its credential, e.g. `VERO_MARKETING_AUTH_TOKEN`. */
  credentialVariableFor(name: string): string {
    return name === DEFAULT_ACCOUNT
      ? this.credentialVariables
      : `${this.prefix}_${name.toUpperCase()}_${this.primaryVariable}`;
  }

  /** Every credential value, so that logs and errors can be scrubbed of them. */
  secrets(): string[] {
    return [...this.accounts.values()].flatMap((a) => (a.credential ? [a.credential.value] : []));
  }
}
