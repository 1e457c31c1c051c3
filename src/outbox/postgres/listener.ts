import type pg from 'pg';
import { requirePackage } from '../../require-package.js';

/** How long to wait before listening again after the connection dropped. */
const RECONNECT_MS = 1000;

/**
 * One connection that LISTENs on a channel and hands each notification's payload to `onPayload`. It reconnects
 * after a drop; meanwhile the outbox's poll still finds the work, only later. It never keeps the process alive.
 */
export class ChangeListener {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly connectionString: string,
    private readonly channel: string,
    /** Shown in pg_stat_activity, so operators (and tests) can see who listens. */
    private readonly applicationName: string,
    private readonly onPayload: (payload: string) => void,
  ) {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const driver = requirePackage('pg') as typeof pg;
    const client = new driver.Client({
      connectionString: this.connectionString,
      application_name: this.applicationName,
    });
    this.client = client;
    client.on('notification', (message) => this.onPayload(message.payload ?? ''));
    client.on('error', () => this.retry(client));
    client.on('end', () => this.retry(client));
    try {
      await client.connect();
      (client as unknown as { unref(): void }).unref();
      await client.query(`LISTEN ${this.channel}`);
    } catch {
      this.retry(client);
    }
  }

  private retry(client: pg.Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    this.timer = setTimeout(() => void this.connect(), RECONNECT_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}
