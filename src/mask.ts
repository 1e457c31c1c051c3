/** A hint that tells two credentials apart without revealing one: the last 4 characters of a long value only. */
export function maskCredential(value: string): string {
  return value.length >= 16 ? `…${value.slice(-4)}` : '…';
}
