import type { Integration } from '../runtime/definition.js';
import { vero } from './vero/index.js';

/** Every integration the runtime offers by default. A new one is a folder here plus a line in this list. */
export const builtinIntegrations: Integration[] = [vero as Integration];
