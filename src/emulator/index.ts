/** Library entry `kosmo-vero/emulator`: a local Vero Track API for tests, benchmarks and dev mode. */
export { DEFAULT_DEDUP_WINDOW_MS } from './dedup.js';
export { EmulatorError } from './errors.js';
export { DEFAULT_MAX_REQUESTS } from './request-log.js';
export { startEmulator } from './server.js';
export type {
  EmulatorEvent,
  EmulatorFault,
  EmulatorOptions,
  EmulatorRequest,
  EmulatorState,
  EmulatorToken,
  EmulatorUser,
  RunningEmulator,
} from './types.js';
