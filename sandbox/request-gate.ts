/**
 * Who may talk to the sandbox: only this machine. Checked on every request before anything is
 * parsed or done, so a refused request changes nothing and is not logged as a call.
 *
 * - `Host` must name a loopback address (127.0.0.0/8, ::1) or `localhost` with the sandbox's
 *   port: a web page whose DNS name was rebound to 127.0.0.1 sends its own name and is refused.
 *   When the sandbox listens on another address (an explicit opt-in), that address's literal
 *   (or, for a wildcard, any of this machine's interface addresses) is accepted too, but never
 *   a DNS name.
 * - A request with an `Origin` header (a browser's) is refused unless the origin is the sandbox
 *   itself (`http://` + an accepted host and port): no foreign page can drive it.
 * - The unsigned control interface (`/_sandbox/…`) takes only `application/json`, so a
 *   cross-site form post (text/plain, form-encoded, multipart) cannot reach it.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isLoopback } from '../functions/lib/loopback';

export { isLoopback };

export interface GateOptions {
  /** The port the sandbox listens on. */
  port: number;
  /** The address it listens on (127.0.0.1 unless opted in to another). */
  listenHost: string;
}

export type Refusal =
  | { kind: 'host'; status: 403; message: string }
  | { kind: 'origin'; status: 403; message: string }
  | { kind: 'content-type'; status: 415; message: string };

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** `name`, `name:port`, `[v6]`, `[v6]:port` → hostname (without brackets) and port. */
export function splitHost(value: string): { hostname: string; port: number | undefined } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]/@\s]+))(?::(\d{1,5}))?$/.exec(value);
  if (!m) return null;
  return {
    hostname: (m[1] ?? m[2] ?? '').toLowerCase(),
    port: m[3] === undefined ? undefined : Number(m[3]),
  };
}

function machineAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) out.add(entry.address.toLowerCase());
  }
  return out;
}

export class RequestGate {
  constructor(private readonly options: GateOptions) {}

  private acceptsHostname(hostname: string): boolean {
    if (isLoopback(hostname)) return true;
    if (isIP(hostname) === 0) return false;
    const listen = this.options.listenHost.toLowerCase();
    if (hostname === listen) return true;
    return WILDCARDS.has(listen) && machineAddresses().has(hostname);
  }

  /** Whether `value` (a Host header or an origin's host) names this sandbox. */
  acceptsHost(value: string, defaultPort = 80): boolean {
    const parsed = splitHost(value);
    if (!parsed) return false;
    return this.acceptsHostname(parsed.hostname) && (parsed.port ?? defaultPort) === this.options.port;
  }

  acceptsOrigin(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== 'http:' || url.origin !== origin.replace(/\/$/, '')) return false;
    return this.acceptsHost(url.host);
  }

  /**
   * Why this request is refused, or null when it may go on. `rawHeaders` (Node's) shows a header
   * sent twice, which `headers` would hide; `target` is the request line's target, which must be
   * a path (an absolute-form target names another authority than Host).
   */
  check(
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
    rawHeaders: readonly string[] = [],
    target = path,
  ): Refusal | null {
    const host = headers.host;
    const hostCount = rawHeaders.filter(
      (name, index) => index % 2 === 0 && name.toLowerCase() === 'host',
    ).length;
    if (typeof host !== 'string' || hostCount > 1 || !target.startsWith('/') || !this.acceptsHost(host)) {
      return {
        kind: 'host',
        status: 403,
        message: `The sandbox answers only this machine: one Host header naming 127.0.0.1, localhost or [::1]${isLoopback(this.options.listenHost) ? '' : ` (or ${this.options.listenHost}, where it listens)`} with port ${this.options.port}, and a path as the request target; got Host '${printable(typeof host === 'string' ? host : '')}'`,
      };
    }
    const origin = headers.origin;
    if (origin !== undefined && (typeof origin !== 'string' || !this.acceptsOrigin(origin))) {
      return {
        kind: 'origin',
        status: 403,
        message: `The sandbox does not answer requests from the web page at '${printable(String(origin))}'`,
      };
    }
    // A bodiless DELETE is no form post (a page cannot send DELETE across sites without asking).
    const bodiless =
      method === 'DELETE' &&
      (headers['content-length'] ?? '0') === '0' &&
      headers['transfer-encoding'] === undefined;
    if (path.startsWith('/_sandbox/') && method !== 'GET' && method !== 'HEAD' && !bodiless) {
      const type = headers['content-type'];
      const media = typeof type === 'string' ? (type.split(';')[0] ?? '').trim().toLowerCase() : '';
      if (media !== 'application/json') {
        return {
          kind: 'content-type',
          status: 415,
          message: `The control interface takes only application/json, got '${printable(typeof type === 'string' ? type : '')}'`,
        };
      }
    }
    return null;
  }
}

/** At most 100 characters, control characters dropped: safe to echo. */
function printable(value: string): string {
  const clean = [...value].filter((c) => c >= ' ' && c !== '\u007f').join('');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}
