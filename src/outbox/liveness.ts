import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/** Who holds a claimed row: enough to tell, on the same machine, whether that holder is gone. */
export interface LockOwner {
  id: string;
  pid: number;
  host: string;
}

/**
 * This process's place: the host name, plus the boot and the pid namespace where the system tells them (Linux).
 * Containers sharing a volume and a host name have their own pid namespaces: a pid seen from one means nothing in
 * another, so "same host" must include the namespace before a missing pid counts as a dead holder.
 */
function whereWeRun(): string {
  const parts = [os.hostname()];
  try {
    parts.push(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    parts.push(readlinkSync('/proc/self/ns/pid'));
  } catch {
    // Not Linux (or no /proc): the host name alone, as before.
  }
  return parts.join(' ');
}

const HERE = whereWeRun();

/** Owners (Outbox instances) open in this process; a row held by our pid but none of these is orphaned. */
const liveInThisProcess = new Set<string>();

export function newLockOwner(): LockOwner {
  const owner = { id: randomUUID(), pid: process.pid, host: HERE };
  liveInThisProcess.add(owner.id);
  return owner;
}

export function releaseLockOwner(owner: LockOwner): void {
  liveInThisProcess.delete(owner.id);
}

/**
 * True when the holder certainly no longer runs: same host, boot and pid namespace, and its pid is gone (or it is
 * our pid but not one of our open instances). Anything uncertain (another host or namespace, pid reused, no
 * permission to signal) counts as alive, and only the lease expiry frees its rows.
 */
export function isOwnerGone(holder: { id: string; pid: number; host: string }): boolean {
  if (holder.host !== HERE) return false;
  if (holder.pid === process.pid) return !liveInThisProcess.has(holder.id);
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
