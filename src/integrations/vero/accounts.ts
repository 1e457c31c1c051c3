import type { AccountEnvironment } from '../definition.js';

/** Vero's account variables: VERO_AUTH_TOKEN, VERO_<NAME>_AUTH_TOKEN, ... (data only: help texts load it alone). */
export const veroAccounts: AccountEnvironment = {
  prefix: 'VERO',
  credentials: [
    { variable: 'AUTH_TOKEN', kind: 'auth_token' },
    { variable: 'TRACKING_API_KEY', kind: 'tracking_api_key' },
  ],
  settings: { baseUrl: 'BASE_URL', email: 'EMAIL' },
  // VERO_BASE_URL points every account at one API (an emulator, a proxy) unless VERO_<NAME>_BASE_URL says otherwise.
  inherited: ['baseUrl'],
  endpointSetting: 'baseUrl',
  listed: ['email'],
};
