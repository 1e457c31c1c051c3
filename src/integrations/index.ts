import type { Integration } from './definition.js';
import { vero } from './vero/index.js';

/**
 * Every integration offered by default: the library's `createRuntime` and the CLI pass this list to the runtime.
 * A new one is a folder here plus a line in this list.
 */
export const builtinIntegrations: Integration[] = [vero];
