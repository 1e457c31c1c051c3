import path from 'node:path';
import envPaths from 'env-paths';

/** `<user data dir>/kosmo-vero/outbox.db`, e.g. `~/.local/share/kosmo-vero/outbox.db` on Linux. */
export function defaultOutboxPath(): string {
  return path.join(envPaths('kosmo-vero', { suffix: '' }).data, 'outbox.db');
}
