import { KosmoError } from '../errors.js';

/** Stable codes, lower snake_case like every other code in the project. */
export type EmulatorErrorCode =
  | 'emulator_bad_option'
  | 'emulator_bad_token'
  | 'emulator_bad_faults'
  | 'emulator_bad_query'
  | 'emulator_cross_origin'
  | 'emulator_bad_content_type';

/** Bad options passed to startEmulator, a bad fault script or a bad inspector query; `code` is stable. */
export class EmulatorError extends KosmoError {
  declare readonly code: EmulatorErrorCode;

  constructor(code: EmulatorErrorCode, message: string) {
    super(code, message);
  }
}
