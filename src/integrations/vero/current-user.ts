import type { VeroClient } from '../../clients/vero/client.js';
import { DEFAULT_BASE_URL } from '../../clients/vero/client.js';
import { maskCredential } from '../../secrets.js';
import type { ReadContext } from '../definition.js';

/**
 * Vero's Track API has no "who am I" endpoint, so the profile is what this account's configuration says, plus a
 * live heartbeat. Nothing here is invented: fields not configured are absent.
 */
export async function describeCurrentUser({
  account,
  client,
}: ReadContext<VeroClient>): Promise<Record<string, unknown>> {
  const heartbeat = await client.heartbeat();
  return {
    account: account.name,
    email: account.settings.email,
    base_url: account.settings.baseUrl ?? DEFAULT_BASE_URL,
    credential: { kind: account.credential.kind, hint: maskCredential(account.credential.value) },
    connectivity: {
      ok: heartbeat.ok,
      status: heartbeat.status,
      latency_ms: Math.round(heartbeat.latencyMs),
      error: heartbeat.error,
    },
    source:
      "Vero's Track API cannot tell who a credential belongs to: account, email and base_url come from local configuration; connectivity is a live GET /heartbeat. The heartbeat does not check the credential.",
  };
}
