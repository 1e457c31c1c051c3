import type { Operation } from '../integrations/definition.js';
import type { PermissionMode } from './config.js';
import { PermissionDeniedError } from './errors.js';

/** integration name (or `*` for all) -> operation -> mode. Anything unset is `allow`. */
export type PermissionPolicy = Record<string, { read?: PermissionMode; write?: PermissionMode }>;

export interface PermissionRequest {
  fullName: string;
  integration: string;
  operation: Operation;
  account: string;
  args: unknown;
}

/** Decides an `ask`: true allows the call. */
export type AskCallback = (request: PermissionRequest) => boolean | Promise<boolean>;

export function modeFor(policy: PermissionPolicy, integration: string, operation: Operation): PermissionMode {
  return policy[integration]?.[operation] ?? policy['*']?.[operation] ?? 'allow';
}

export async function checkPermission(
  policy: PermissionPolicy,
  /** true, or why the caller may not write (said in the refusal instead of how to turn read-only off). */
  readOnly: boolean | string,
  ask: AskCallback | undefined,
  request: PermissionRequest,
  /** How the caller turns read-only off and dry-run on, as the refusal names them (the CLI: its flags). */
  names: { readOnly: string; dryRun: string },
): Promise<void> {
  const { fullName, integration, operation } = request;
  // Each refusal opens with KosmoKrator's sentence (what an agent may already know), then says how to allow it here.
  const denied = `Integration '${integration}' ${operation} access denied`;
  if (typeof readOnly === 'string' && operation === 'write') {
    throw new PermissionDeniedError(`${denied}: ${fullName} changes data in ${integration} and ${readOnly}.`);
  }
  if (readOnly && operation === 'write') {
    throw new PermissionDeniedError(
      `${denied}: this run is read-only (${names.readOnly}) and ${fullName} changes data in ${integration}. Run without ${names.readOnly} to allow writes, or with ${names.dryRun} to preview them.`,
    );
  }
  const mode = modeFor(policy, integration, operation);
  if (mode === 'allow') return;
  const how = `set permissions.${integration}.${operation} to "allow" in the config file`;
  if (mode === 'deny') {
    throw new PermissionDeniedError(
      `${denied}. ${fullName}: denied by policy (${integration} ${operation}: deny); ${how}.`,
    );
  }
  if (!ask) {
    throw new PermissionDeniedError(
      `Integration '${integration}' ${operation} requires approval. ${fullName}: needs approval (${integration} ${operation}: ask) but nobody can be asked here; ${how}, or pass an ask callback.`,
    );
  }
  if (!(await ask(request))) {
    throw new PermissionDeniedError(
      `Integration '${integration}' ${operation} requires approval. ${fullName}: the call was refused when approval was asked.`,
    );
  }
}
