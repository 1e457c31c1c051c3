/** The Vero Track API v2 endpoints the emulator serves, and how request paths map onto them. */

export const API_PREFIX = '/api/v2';

export type Endpoint =
  | '/users/track'
  | '/users/edit'
  | '/users/tags/edit'
  | '/users/unsubscribe'
  | '/users/resubscribe'
  | '/users/reidentify'
  | '/users/delete'
  | '/events/track'
  | '/heartbeat';

/**
 * The methods each endpoint answers; any other is a 404 naming the documented one (what Rails-style routing gives).
 * - `/users/reidentify` also takes POST: Vero's own earlier reference (developers.getvero.com, "Alias") shows
 *   `curl -d ... 'https://api.getvero.com/api/v2/users/reidentify'`, a POST; today's reference, the Ruby gem,
 *   @getvero/tracking, vero-php, vero-python, n8n and Segment send PUT.
 * - `/users/delete` takes POST only: every Vero reference, the Ruby gem, @getvero/tracking and n8n send POST, and no
 *   Vero source documents `DELETE /users/delete`, so a client sending DELETE is told so rather than passed.
 */
export const ENDPOINT_METHODS: Readonly<Record<Endpoint, readonly string[]>> = {
  '/users/track': ['POST'],
  '/users/edit': ['PUT'],
  '/users/tags/edit': ['PUT'],
  '/users/unsubscribe': ['POST'],
  '/users/resubscribe': ['POST'],
  '/users/reidentify': ['PUT', 'POST'],
  '/users/delete': ['POST'],
  '/events/track': ['POST'],
  '/heartbeat': ['GET'],
};

export function isEndpoint(path: string): path is Endpoint {
  return Object.hasOwn(ENDPOINT_METHODS, path);
}

/** '/api/v2/users/track.json' → '/users/track'; null when the path is not under the API prefix or not an endpoint. */
export function endpointOf(pathname: string): Endpoint | null {
  if (!pathname.startsWith(`${API_PREFIX}/`)) return null;
  let rest = pathname.slice(API_PREFIX.length);
  if (rest.endsWith('.json')) rest = rest.slice(0, -'.json'.length);
  if (rest.length > 1 && rest.endsWith('/')) rest = rest.slice(0, -1);
  return isEndpoint(rest) ? rest : null;
}
