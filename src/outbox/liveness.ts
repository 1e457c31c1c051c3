import { randomUUID } from 'node:crypto';
import os from 'node:os';

/** Who holds a claimed row: enough to tell, on the same machine, whether that holder is gone. */
export interface LockOwner {
  id: string;
  pid: number;
  host: string;
}

/** Owners (Outbox instances) open in this process; a row held by our pid but none of these is orphaned. */
const liveInThisProcess = new Set<string>();

export function newLockOwner(): LockOwner {
  const owner = { id: randomUUID(), pid: process.pid, host: os.hostname() };
  liveInThisProcess.add(owner.id);
  return owner;
}

export function releaseLockOwner(owner: LockOwner): void {
  liveInThisProcess.delete(owner.id);
}

/**
 * True when the holder certainly no longer runs: same host and its pid is gone (or it is our pid but not one of
 * our open instances). Anything uncertain (other host, pid reused, no permission to signal) counts as alive, and
 * only the lease expiry frees its rows.
 */
export function isOwnerGone(holder: { id: string; pid: number; host: string }): boolean {
  if (holder.host !== os.hostname()) return false;
  if (holder.pid === process.pid) return !liveInThisProcess.has(holder.id);
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
