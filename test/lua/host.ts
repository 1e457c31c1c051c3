/** A small real LuaHost for the tests: records every request and answers like an integration runtime would. */
import type { LuaCallRequest, LuaHost, LuaNamespace } from '../../src/lua/index.js';

export { CANARY } from '../support/canary.js';

export const VERO_NAMESPACE: LuaNamespace = {
  integration: 'vero',
  functions: ['identify_user', 'track_event', 'edit_tags', 'get_current_user'],
  aliases: { vero_identify_user: 'identify_user', vero_track_event: 'track_event' },
  accounts: ['marketing'],
};

export class HostError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface TestHost extends LuaHost {
  requests: LuaCallRequest[];
}

const PAGES: Record<string, string> = {
  index: '# kosmo-vero docs\n\nSee vero/identify_user.',
  'vero/identify_user': '# vero.identify_user\n\nCreates or updates a user.',
};

/**
 * respond(request) decides the answer; by default: track_event without event_name is a validation error, every
 * other call echoes what it received with status "sent".
 */
export function testHost(
  respond?: (request: LuaCallRequest) => unknown,
  namespaces = [VERO_NAMESPACE],
): TestHost {
  const requests: LuaCallRequest[] = [];
  return {
    namespaces,
    requests,
    async call(request) {
      requests.push(request);
      if (respond) return respond(request);
      const args = request.args as Record<string, unknown>;
      if (request.fn === 'track_event' && args.event_name === undefined) {
        throw new HostError(
          'vero.track_event: event_name: required, give the event a name',
          'vero_validation',
        );
      }
      return {
        status: 'sent',
        function: `${request.integration}.${request.fn}`,
        account: request.account ?? 'default',
        args,
      };
    },
    readDoc(page) {
      const text = PAGES[page];
      if (text === undefined) throw new Error(`no doc page "${page}"; lua_list_docs() lists the pages`);
      return text;
    },
    listDocs() {
      return Object.keys(PAGES).map((page) => ({ page, title: PAGES[page]?.split('\n')[0] }));
    },
    searchDocs(query) {
      return Object.keys(PAGES)
        .filter((page) => PAGES[page]?.toLowerCase().includes(query.toLowerCase()))
        .map((page) => ({ page }));
    },
  };
}
