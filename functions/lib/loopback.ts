/** Loopback addresses and names: what never leaves this machine. */
import { isIP } from 'node:net';

/** `localhost`, 127.0.0.0/8, ::1 (bracketed or not) and its IPv4-mapped loopback forms. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host.startsWith('::ffff:127.') || host === '::ffff:7f00:1';
  return false;
}
