/**
 * The artifact store over HTTP, behind the request gate like every other route:
 *
 *   GET | HEAD /_sandbox/artifacts/<host>/<path>   a file the store made (read-only)
 *   GET  /_sandbox/archive                          what the store serves (versions, commits)
 *   POST /_sandbox/archive {"pulsarVersion", "checksumFormat"?}   serve one more Pulsar version
 *
 * A path is checked segment by segment (a host name, then names of letters, digits and
 * `._+~-`; no `.`/`..`, no percent-encoding) and then looked up among the files the store made:
 * nothing is listed and nothing else on disk is reachable. Lambdas use the first route for
 * the "does the archive have this version" check (its `.sha512`).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { versionSchema } from '../../functions/lib/validation';
import type { ArtifactStore } from './store';

export const ARTIFACTS_ROUTE = '/_sandbox/artifacts';
const ARCHIVE_ROUTE = '/_sandbox/archive';

export interface ArtifactResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

const HOST = /^(?!\.)[a-z0-9.-]{1,253}$/;
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._+~-]{1,255}$/;

/** `<host>/<path>` of a route path, or undefined when it is not a well-formed store path. */
export function storePathOfRoute(pathname: string): string | undefined {
  if (!pathname.startsWith(`${ARTIFACTS_ROUTE}/`)) return undefined;
  const parts = pathname.slice(ARTIFACTS_ROUTE.length + 1).split('/');
  const [host, ...rest] = parts;
  if (host === undefined || !HOST.test(host) || host.includes('..') || rest.length === 0) return undefined;
  if (!rest.every((segment) => SEGMENT.test(segment))) return undefined;
  return parts.join('/');
}

function contentType(path: string): string {
  if (path.endsWith('.tar.gz') || path.endsWith('.tgz')) return 'application/x-gzip';
  if (path.endsWith('.zip')) return 'application/zip';
  if (path.endsWith('.rpm')) return 'application/x-rpm';
  return 'text/plain; charset=utf-8';
}

const NOT_FOUND_PAGE =
  '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n';

/** Answers a request under /_sandbox/artifacts (any method). */
export async function serveArtifact(
  method: string,
  pathname: string,
  store: ArtifactStore,
): Promise<ArtifactResponse> {
  if (method !== 'GET' && method !== 'HEAD') {
    return {
      status: 405,
      headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' },
      body: 'Method Not Allowed: the artifact store is read-only\n',
    };
  }
  const relative = storePathOfRoute(pathname);
  if (relative === undefined && pathname !== ARTIFACTS_ROUTE && pathname !== `${ARTIFACTS_ROUTE}/`) {
    return {
      status: 400,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'Bad Request: an artifact path is /_sandbox/artifacts/<host>/<path> of plain names\n',
    };
  }
  const file = relative === undefined ? undefined : await store.lookup(relative);
  if (file === undefined) {
    return {
      status: 404,
      headers: { 'content-type': 'text/html; charset=iso-8859-1' },
      body: NOT_FOUND_PAGE,
    };
  }
  const body = await readFile(file);
  return {
    status: 200,
    headers: { 'content-type': contentType(file), 'cache-control': 'no-store' },
    body,
  };
}

const addRelease = z.strictObject({
  pulsarVersion: versionSchema,
  checksumFormat: z.enum(['sha512sum', 'apache']).optional(),
});

export interface ControlAnswer {
  status: number;
  body: unknown;
}

/** The store's control routes (`/_sandbox/archive`); null for any other path. */
export async function handleArchiveControl(
  method: string,
  pathname: string,
  body: unknown,
  store: ArtifactStore,
): Promise<ControlAnswer | null> {
  if (pathname.replace(/\/+$/, '') !== ARCHIVE_ROUTE) return null;
  if (method === 'GET') return { status: 200, body: await store.list() };
  if (method === 'POST') {
    const parsed = addRelease.safeParse(body ?? {});
    if (!parsed.success) {
      const error = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return { status: 400, body: { error } };
    }
    await store.addPulsarVersion(parsed.data.pulsarVersion, parsed.data.checksumFormat);
    return { status: 200, body: await store.list() };
  }
  return { status: 404, body: { error: `No control route ${method} ${ARCHIVE_ROUTE}` } };
}
