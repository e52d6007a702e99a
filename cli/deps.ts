/**
 * Everything the CLI core takes from the outside world. `cli/main.ts` passes the real ones;
 * tests pass fakes, so the whole CLI runs in-process without a network, a clock or a home.
 */

/** A place text is written to: process.stdout/stderr, or a test buffer. */
export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Width of the terminal, when it is one. */
  columns?: number;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface CliDeps {
  fetch: FetchLike;
  env: Readonly<Record<string, string | undefined>>;
  /** Milliseconds since the epoch. */
  now: () => number;
  stdout: OutputStream;
  stderr: OutputStream;
  /** Folder the cache lives under (`~/.pulsar-aws-lab/ami-cache/`). */
  homeDir: string;
  /** Replaces the standard credential chain (tests). */
  credentials?: () => Promise<AwsCredentials>;
  /** Replaces the CloudFormation lookup of the API URL (tests); resolves undefined when not found. */
  discoverApiUrl?: (input: {
    stackName: string;
    region: string;
    credentials: AwsCredentials;
  }) => Promise<string | undefined>;
  /** Aborts in-flight requests (Ctrl-C). */
  signal?: AbortSignal;
  /** Waits between polls; resolves early when `signal` aborts (tests pass one that only moves the clock). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}
