/** The Track API endpoints this client speaks, one operation per row of the spec table. */

export type HttpMethod = 'GET' | 'POST' | 'PUT';

export const VERO_OPERATIONS = {
  identify: { method: 'POST', path: '/users/track' },
  editUser: { method: 'PUT', path: '/users/edit' },
  editTags: { method: 'PUT', path: '/users/tags/edit' },
  unsubscribe: { method: 'POST', path: '/users/unsubscribe' },
  resubscribe: { method: 'POST', path: '/users/resubscribe' },
  reidentify: { method: 'PUT', path: '/users/reidentify' },
  deleteUser: { method: 'POST', path: '/users/delete' },
  trackEvent: { method: 'POST', path: '/events/track' },
  heartbeat: { method: 'GET', path: '/heartbeat' },
} as const satisfies Record<string, { method: HttpMethod; path: string }>;

export type VeroOperation = keyof typeof VERO_OPERATIONS;

/** Operations that send a body with a credential (everything but the heartbeat). */
export type VeroWriteOperation = Exclude<VeroOperation, 'heartbeat'>;

export interface IdentifyInput {
  id?: string;
  email?: string;
  data?: Record<string, unknown>;
}

export interface EditUserInput {
  id: string;
  changes: Record<string, unknown>;
}

export interface EditTagsInput {
  id: string;
  add?: string[];
  remove?: string[];
}

export interface UserIdInput {
  id: string;
}

export interface ReidentifyInput {
  id: string;
  newId: string;
}

export interface TrackEventInput {
  identity: { id?: string; email?: string };
  eventName: string;
  data?: Record<string, unknown>;
  extras?: { source?: string; createdAt?: string };
}

export interface VeroInputs {
  identify: IdentifyInput;
  editUser: EditUserInput;
  editTags: EditTagsInput;
  unsubscribe: UserIdInput;
  resubscribe: UserIdInput;
  reidentify: ReidentifyInput;
  deleteUser: UserIdInput;
  trackEvent: TrackEventInput;
  heartbeat: undefined;
}

/** What Vero answered to a write. `duplicate` when Vero said "Request already received.". */
export interface VeroResult {
  status: number;
  message: string;
  duplicate: boolean;
}

export interface HeartbeatResult {
  ok: boolean;
  status?: number;
  latencyMs: number;
  error?: string;
}

/** A request as it would be sent, for dry runs: the credential value is replaced by `'[redacted]'`. */
export interface PreparedRequest {
  operation: VeroOperation;
  method: HttpMethod;
  path: string;
  url: string;
  body: Record<string, unknown> | undefined;
}

export { REDACTED } from '../../secrets.js';
