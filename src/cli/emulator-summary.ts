import type { EmulatorState } from '../emulator/index.js';

const attributes = (data: Record<string, unknown>): string =>
  Object.entries(data)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');

/** What the embedded emulator received, for a person reading the terminal after `run --emulator`. */
export function emulatorSummary(state: EmulatorState, url: string): string {
  const vero = state.requests.filter((r) => r.endpoint !== '/heartbeat');
  const refused = vero.filter((r) => r.status !== 200);
  const lines = [
    `--- the emulator at ${url} received ${vero.length} request(s)${refused.length ? `, refused ${refused.length}` : ''}`,
  ];
  lines.push(`users (${state.users.length}):`);
  for (const user of state.users) {
    const flags = [
      user.unsubscribed ? 'UNSUBSCRIBED' : '',
      user.tags.length ? `tags=${user.tags.join(',')}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    lines.push(
      `  ${user.id}  ${user.email ?? '(no email)'}  ${attributes(user.data)}${flags ? `  ${flags}` : ''}`,
    );
  }
  lines.push(`events (${state.events.length}):`);
  for (const event of state.events) {
    const who = event.identity.id ?? event.identity.email ?? '?';
    lines.push(`  ${who}  "${event.event_name}"  ${attributes(event.data)}`);
  }
  for (const request of refused) {
    lines.push(
      `refused: ${request.method} ${request.endpoint ?? request.path} -> ${request.status} ${request.message ?? ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
