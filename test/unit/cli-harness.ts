/**
 * Runs the CLI core in-process with fake fetch, env, clock, streams and a temporary HOME,
 * and records every HTTP call, so tests can assert on output, exit code and "no call made".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { AwsCredentials, CliDeps, FetchLike } from '../../cli/deps';
import { runCli } from '../../cli/run';
import type { Ami } from '../../functions/lib/api-types';

export const API = 'https://abc123.execute-api.us-west-2.amazonaws.com/dev';
/** An API on a custom domain: its URL names no region, so any --region is sent to it. */
export const CUSTOM_DOMAIN_API = 'https://pulsar-ami.example.com/dev';
export const T0 = Date.parse('2026-01-15T12:00:00Z');
export const TEST_CREDENTIALS: AwsCredentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

export interface Call {
  method: string;
  url: URL;
  headers: Record<string, string>;
}

export type Handler = (url: URL, method: string) => Response | Promise<Response>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      'x-amzn-RequestId': 'req-123',
      ...headers,
    },
  });
}

export function problem(
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Response {
  return json(status, { type: `urn:pulsar-ami:problem:${title}`, title, status, detail, ...extra });
}

export function ami(imageId: string, version: string, createdAt: string, extra: Partial<Ami> = {}): Ami {
  const name = `pulsar-base-${version}-${createdAt.slice(0, 10).replace(/-/g, '')}`;
  return {
    imageId,
    name,
    version,
    state: 'available',
    createdAt,
    ownerId: '123456789012',
    ownership: 'managed',
    validated: null,
    validationDate: null,
    protected: false,
    snapshotIds: [],
    tags: {},
    ...extra,
  };
}

export const AMIS: Ami[] = [
  ami('ami-0a1b2c3d4e5f67890', '3.0.0', '2025-10-06T14:23:11.000Z'),
  ami('ami-09876543210fedcba', '2.11.0', '2025-09-20T10:15:00.000Z'),
  ami('ami-0abcdef1', '2.10.0', '2025-08-15T09:30:59.000Z'),
];

export interface HarnessOptions {
  env?: Record<string, string | undefined>;
  home?: string;
  tty?: boolean;
  /** Answers by `METHOD /path` (path after the API base); unmatched calls answer 500. */
  routes?: Record<string, Handler>;
  credentials?: CliDeps['credentials'];
  discoverApiUrl?: CliDeps['discoverApiUrl'];
  fetch?: FetchLike;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The temporary HOMEs made by harnesses in the current test: removed once it ends. */
const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

export class Harness {
  readonly calls: Call[] = [];
  home: string;
  now = T0;
  env: Record<string, string | undefined>;

  constructor(private readonly options: HarnessOptions = {}) {
    if (options.home !== undefined) this.home = options.home;
    else {
      this.home = mkdtempSync(join(tmpdir(), 'pulsar-ami-cli-'));
      homes.push(this.home);
    }
    this.env = options.env ?? { PULSAR_AMI_API_URL: API };
  }

  get cacheFile(): string {
    return join(this.home, '.pulsar-aws-lab', 'ami-cache', 'ami-list-us-west-2.json');
  }

  private readonly fakeFetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    const method = init.method ?? 'GET';
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    this.calls.push({ method, url, headers });
    const base = new URL(this.env.PULSAR_AMI_API_URL ?? API);
    const path = url.pathname.startsWith(base.pathname)
      ? url.pathname.slice(base.pathname.length)
      : url.pathname;
    const handler = this.options.routes?.[`${method} ${path.startsWith('/') ? path : `/${path}`}`];
    return handler ? handler(url, method) : problem(500, 'Unexpected', `no route for ${method} ${path}`);
  };

  async run(...argv: string[]): Promise<RunResult> {
    let stdout = '';
    let stderr = '';
    const code = await runCli(argv, {
      fetch: this.options.fetch ?? this.fakeFetch,
      env: this.env,
      now: () => this.now,
      stdout: { write: (s: string) => (stdout += s), isTTY: this.options.tty ?? false },
      stderr: { write: (s: string) => (stderr += s) },
      homeDir: this.home,
      credentials: this.options.credentials ?? (async () => TEST_CREDENTIALS),
      ...(this.options.discoverApiUrl ? { discoverApiUrl: this.options.discoverApiUrl } : {}),
    });
    return { code, stdout, stderr };
  }
}

/** Routes that serve `items` as one page for GET /amis. */
export function listRoute(items: Ami[]): Record<string, Handler> {
  return { 'GET /amis': () => json(200, { items }) };
}
