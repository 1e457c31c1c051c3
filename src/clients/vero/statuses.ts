/** Statuses that say "try again later"; 500/501 and other 4xx are final. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}
