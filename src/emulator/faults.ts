/** Scripted failures for tests: each Vero request consumes the first matching fault that has uses left. */
import { isPlainObject } from './body.js';
import type { Endpoint } from './endpoints.js';
import { EmulatorError } from './errors.js';
import type { EmulatorFault } from './types.js';

interface ActiveFault {
  fault: EmulatorFault;
  remaining: number;
}

export class FaultQueue {
  private faults: ActiveFault[] = [];

  add(faults: EmulatorFault[]): void {
    for (const fault of faults) this.faults.push({ fault, remaining: fault.count ?? 1 });
  }

  /** Heartbeat is only faulted by a fault naming '/heartbeat' explicitly, so health checks keep working. */
  take(endpoint: Endpoint, method: string): EmulatorFault | null {
    if (this.faults.length === 0) return null;
    const index = this.faults.findIndex(({ fault }) => {
      if (fault.endpoint === undefined ? endpoint === '/heartbeat' : stripJson(fault.endpoint) !== endpoint) {
        return false;
      }
      return fault.method === undefined || fault.method.toUpperCase() === method;
    });
    const active = this.faults[index];
    if (active === undefined) return null;
    if (!active.fault.forever) {
      active.remaining -= 1;
      if (active.remaining <= 0) this.faults.splice(index, 1);
    }
    return active.fault;
  }

  list(): Array<EmulatorFault & { remaining: number | null }> {
    return this.faults.map(({ fault, remaining }) => ({
      ...fault,
      remaining: fault.forever ? null : remaining,
    }));
  }

  clear(): void {
    this.faults = [];
  }
}

function stripJson(endpoint: string): string {
  const path = endpoint.startsWith('/api/v2/') ? endpoint.slice('/api/v2'.length) : endpoint;
  return path.endsWith('.json') ? path.slice(0, -'.json'.length) : path;
}

/** Checks a POST /_emulator/faults body; throws EmulatorError naming the field. */
export function parseFaults(body: unknown): EmulatorFault[] {
  if (!isPlainObject(body) || !Array.isArray(body.faults)) {
    throw new EmulatorError(
      'emulator_bad_faults',
      'faults: send {"faults": [{"endpoint": "/users/track", ...}]}.',
    );
  }
  return body.faults.map((raw, i) => {
    const at = `faults[${i}]`;
    if (!isPlainObject(raw)) throw new EmulatorError('emulator_bad_faults', `${at}: must be an object.`);
    const fault: EmulatorFault = {};
    const str = (k: 'endpoint' | 'method' | 'retryAfter') => {
      const v = raw[k];
      if (v === undefined) return;
      if (typeof v !== 'string')
        throw new EmulatorError('emulator_bad_faults', `${at}.${k}: must be a string.`);
      fault[k] = v;
    };
    const num = (k: 'status' | 'latencyMs' | 'count', min: number, max: number) => {
      const v = raw[k];
      if (v === undefined) return;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        throw new EmulatorError(
          'emulator_bad_faults',
          `${at}.${k}: must be an integer from ${min} to ${max}.`,
        );
      }
      fault[k] = v;
    };
    const bool = (k: 'drop' | 'hang' | 'forever') => {
      const v = raw[k];
      if (v === undefined) return;
      if (typeof v !== 'boolean')
        throw new EmulatorError('emulator_bad_faults', `${at}.${k}: must be true or false.`);
      fault[k] = v;
    };
    str('endpoint');
    str('method');
    str('retryAfter');
    num('status', 100, 599);
    num('latencyMs', 0, 600_000);
    num('count', 1, 1_000_000);
    bool('drop');
    bool('hang');
    bool('forever');
    if (raw.body !== undefined) fault.body = raw.body;
    return fault;
  });
}
