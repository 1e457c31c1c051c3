import { CLIENT_VERSION } from '../../version.js';

export { CLIENT_VERSION };
export const DEFAULT_USER_AGENT = `kosmo-vero/${CLIENT_VERSION}`;
