import { KosmoError } from '../errors.js';

/** Bad options passed to startEmulator or a bad fault script; `code` is stable. */
export class EmulatorError extends KosmoError {}
