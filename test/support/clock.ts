/** A clock the test moves by hand (the runtime's, the outbox's and the emulator's `now` option). */
export function manualClock(start: string) {
  let current = Date.parse(start);
  return {
    now: () => new Date(current),
    set(at: string) {
      current = Date.parse(at);
    },
    advance(ms: number) {
      current += ms;
    },
  };
}

/**
 * Waits until `condition` holds, checking every few milliseconds: a gate on what happened, not a timing claim.
 * Gives up (throwing `what`) only after a minute, far beyond any busy machine's delay.
 */
export async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const giveUp = Date.now() + 60_000;
  while (!(await condition())) {
    if (Date.now() > giveUp) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
