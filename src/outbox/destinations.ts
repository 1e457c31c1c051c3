import { createHmac } from 'node:crypto';
import { maskCredential } from '../secrets.js';
import { OutboxError } from './errors.js';
import type { OutboxStorage, ServedDestination } from './storage.js';
import type { Destination, DestinationInput } from './types.js';

/**
 * Destinations of one outbox (file or database schema): records the ones jobs are queued for, and tells which of
 * them this process can deliver to. A credential is reduced to a keyed hash (HMAC-SHA256 under the store's random
 * key, 128 bits kept) and a masked hint: enough to match the same credential again, nothing to recover it from.
 */
export class Destinations {
  private readonly storage: OutboxStorage;
  private readonly key: string;
  /** Pending or recorded; a failed recording is forgotten so the next enqueue tries again. */
  private readonly recorded = new Map<string, Promise<Destination>>();
  /** What this process can deliver with: integration + endpoint + fingerprint -> local account name. */
  private readonly holds = new Map<string, string>();

  /** `held` must have passed checkDestination. */
  static async open(storage: OutboxStorage, held: DestinationInput[]): Promise<Destinations> {
    return new Destinations(storage, await storage.fingerprintKey(), held);
  }

  private constructor(storage: OutboxStorage, key: string, held: DestinationInput[]) {
    this.storage = storage;
    this.key = key;
    for (const input of held) {
      const match = matchKey(input.integration, input.endpoint, this.fingerprint(input.credential));
      if (!this.holds.has(match)) this.holds.set(match, input.account);
    }
  }

  /** The recorded destination for a job being queued (`input` must have passed checkDestination). */
  record(input: DestinationInput, now: number): Promise<Destination> {
    // Keyed by the credential itself (in memory only), so an enqueue costs no HMAC after the first.
    const cacheKey = [input.integration, input.account, input.endpoint, input.credential].join('\n');
    let destination = this.recorded.get(cacheKey);
    if (!destination) {
      const row = {
        integration: input.integration,
        account: input.account,
        endpoint: input.endpoint,
        fingerprint: this.fingerprint(input.credential),
        credentialHint: maskCredential(input.credential),
      };
      destination = this.storage
        .destinationId(row, now)
        .then((id) => ({ id, ...row, pausedUntil: null, pauseReason: null }));
      this.recorded.set(cacheKey, destination);
      destination.catch(() => this.recorded.delete(cacheKey));
    }
    return destination;
  }

  /** The recorded destinations this process holds a matching account for (read fresh: other processes add some). */
  async served(): Promise<ServedDestination[]> {
    return this.holds.size === 0 ? [] : this.servedFrom(await this.storage.destinations());
  }

  /** Those of these recorded destinations this process holds a matching account for. */
  servedFrom(recorded: Destination[]): ServedDestination[] {
    const served: ServedDestination[] = [];
    for (const destination of recorded) {
      const account = this.localAccount(destination);
      if (account !== undefined) served.push({ destination, account });
    }
    return served;
  }

  /** The local account that delivers jobs of this destination, if any. */
  localAccount(destination: Destination): string | undefined {
    return this.holds.get(matchKey(destination.integration, destination.endpoint, destination.fingerprint));
  }

  private fingerprint(credential: string): string {
    return createHmac('sha256', this.key).update(credential).digest('hex').slice(0, 32);
  }
}

const matchKey = (integration: string, endpoint: string, fingerprint: string): string =>
  [integration, endpoint, fingerprint].join('\n');

export function checkDestination(input: DestinationInput): void {
  for (const field of ['integration', 'account', 'endpoint', 'credential'] as const) {
    const value: unknown = input?.[field];
    if (typeof value !== 'string' || value === '') {
      throw new OutboxError(
        'outbox_invalid_job',
        `destination: \`${field}\` must be a non-empty string (the account's ${field} the write goes to).`,
      );
    }
  }
}
