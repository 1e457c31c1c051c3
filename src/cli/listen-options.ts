import { UsageError } from './output.js';

/** `--port`: 0 (a free one) to 65535. */
export function portOption(value: string | undefined): number {
  const port = Number(value ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port: not a port: ${value}`);
  return port;
}

/** A port in use or an address this machine does not have, said in terms of the flag to change; else undefined. */
export function listenFailure(
  error: NodeJS.ErrnoException,
  flags: { host: string; port?: string },
): UsageError | undefined {
  if (error.code === 'EADDRINUSE') {
    return new UsageError(
      `port ${flags.port} on ${flags.host} is already in use: pick another with --port, or leave --port out for a free one`,
    );
  }
  if (error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
    return new UsageError(`cannot listen on ${flags.host}:${flags.port ?? 0}: ${error.message}`);
  }
  return undefined;
}
