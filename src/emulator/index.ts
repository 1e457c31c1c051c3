/** Library entry `kosmo-vero/emulator`: a local Vero Track API for tests, benchmarks and dev mode. */
export { EmulatorError } from './errors.js';
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
