import { readFileSync } from 'node:fs';
import type { Account, Integration, WritePlan } from '../../integration/definition.js';
import { VeroClient } from '../../vero/client.js';
import type { VeroInputs, VeroWriteOperation } from '../../vero/operations.js';
import { veroFunctions } from './functions.js';
import { veroQueuedFailure } from './queued-failure.js';

const guide = (file: string): string =>
  readFileSync(new URL(`./guide/${file}`, import.meta.url), 'utf8').trim();

/**
 * Per attempt, for queued deliveries: the outbox retries on its own schedule, so a hung endpoint should free its
 * delivery slot well before the direct client's 30 s.
 */
const QUEUED_TIMEOUT_MS = 10_000;

function clientFor(account: Account, use: 'direct' | 'queued'): VeroClient {
  const credential =
    account.credential.kind === 'tracking_api_key'
      ? { trackingApiKey: account.credential.value }
      : { authToken: account.credential.value };
  const queued = use === 'queued' ? { timeoutMs: QUEUED_TIMEOUT_MS, retry: false as const } : {};
  return new VeroClient({ ...credential, baseUrl: account.settings.baseUrl, ...queued });
}

// A plan is produced by one of our own functions, so its operation and input match a VeroClient method.
function send(client: VeroClient, plan: WritePlan) {
  const operation = plan.operation as VeroWriteOperation;
  const call = client[operation] as (
    input: VeroInputs[VeroWriteOperation],
  ) => ReturnType<VeroClient['identify']>;
  return call.call(client, plan.input as unknown as VeroInputs[VeroWriteOperation]);
}

export const vero: Integration<VeroClient> = {
  name: 'vero',
  title: 'Vero',
  accounts: {
    prefix: 'VERO',
    credentials: [
      { variable: 'AUTH_TOKEN', kind: 'auth_token' },
      { variable: 'TRACKING_API_KEY', kind: 'tracking_api_key' },
    ],
    settings: { baseUrl: 'BASE_URL', email: 'EMAIL' },
  },
  functions: veroFunctions,
  createClient: clientFor,
  queuedFailure: veroQueuedFailure,
  endpoint: (client) => client.baseUrl,
  send,
  preview: (client, plan) => client.prepare(plan.operation as VeroWriteOperation, plan.input as never),
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
