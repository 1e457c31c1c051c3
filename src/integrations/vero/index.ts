import { readFileSync } from 'node:fs';
import { VeroClient } from '../../clients/vero/client.js';
import { VeroConfigError } from '../../clients/vero/errors.js';
import { VERO_OPERATIONS } from '../../clients/vero/operations.js';
import type { Account, ClientOptions, Integration } from '../definition.js';
import { veroAccounts } from './accounts.js';
import { veroFunctions } from './functions.js';
import { previewPlan, sendPlan, type VeroPlan } from './plan.js';
import { veroQueuedFailure } from './queued-failure.js';

const guide = (file: string): string =>
  readFileSync(new URL(`./guide/${file}`, import.meta.url), 'utf8').trim();

/**
 * Per attempt, for queued deliveries: the outbox retries on its own schedule, so a hung endpoint should free its
 * delivery slot well before the direct client's 30 s (unless the user set a request timeout).
 */
const QUEUED_TIMEOUT_MS = 10_000;

function newClient(account: Account, use: 'direct' | 'queued', options: ClientOptions): VeroClient {
  const credential =
    account.credential.kind === 'tracking_api_key'
      ? { trackingApiKey: account.credential.value }
      : { authToken: account.credential.value };
  const { onRetry } = options;
  const queued = use === 'queued';
  return new VeroClient({
    ...credential,
    baseUrl: account.settings.baseUrl,
    timeoutMs: options.requestTimeoutMs ?? (queued ? QUEUED_TIMEOUT_MS : undefined),
    timeoutSetting: options.requestTimeoutSetting,
    ...(queued ? { retry: false as const } : {}),
    onAttempt: onRetry
      ? ({ operation, attempt, error, delayMs }) => {
          if (error !== undefined && delayMs !== undefined) {
            onRetry({ request: VERO_OPERATIONS[operation].path, attempt, error, delayMs });
          }
        }
      : undefined,
  });
}

function clientFor(account: Account, use: 'direct' | 'queued', options: ClientOptions = {}): VeroClient {
  try {
    return newClient(account, use, options);
  } catch (error) {
    // The library's option name means nothing to someone who set an environment variable: name that instead.
    if (!(error instanceof VeroConfigError) || error.option !== 'baseUrl') throw error;
    const own = account.name === 'default' ? 'VERO_BASE_URL' : `VERO_${account.name.toUpperCase()}_BASE_URL`;
    const shared = account.name === 'default' ? '' : ' or VERO_BASE_URL';
    throw new VeroConfigError(
      `vero account "${account.name}": the base URL ${JSON.stringify(account.settings.baseUrl)} is not an http(s) URL such as https://api.getvero.com/api/v2; fix ${own}${shared} (or baseUrl in the config file).`,
      'baseUrl',
    );
  }
}

export const vero: Integration<VeroClient, VeroPlan> = {
  name: 'vero',
  title: 'Vero',
  accounts: veroAccounts,
  emulator: { demoCredential: 'emulator-demo-token' },
  functions: veroFunctions,
  createClient: clientFor,
  queuedFailure: veroQueuedFailure,
  endpoint: (client) => client.baseUrl,
  send: sendPlan,
  preview: previewPlan,
  imports: {
    users: { function: 'identify_user', dataField: 'data' },
    events: { function: 'track_event', dataField: 'data' },
  },
  probe: (client) => client.heartbeat(),
  probeNote:
    'Vero has no endpoint that checks a credential without writing data: a reachable API (GET /heartbeat) does not prove the token is valid; the first real call will.',
  guide: [guide('common-workflows.md'), guide('multi-account.md')],
  extrasHeading: 'Beyond the Published Reference',
  notes: [guide('how-vero-behaves.md')],
};
