/**
 * The version check before a build starts: Apache publishes `apache-pulsar-V-bin.tar.gz.sha512`
 * beside every release, and the build verifies the tarball against it, so no checksum means no
 * build. One HEAD request: 200 is a release; 404 (or 403/410) is not (422); anything else,
 * or no answer, means the archive cannot tell now (502/503) — and nothing starts either way.
 */
import { ArchiveUnavailableError, VersionNotInArchiveError } from './errors';

export type FetchLike = (url: string, init: RequestInit) => Promise<Pick<Response, 'status'>>;

/** `${base}/pulsar/pulsar-V/apache-pulsar-V-bin.tar.gz`, Apache's layout (the buildspec downloads the same). */
export function pulsarTarballUrl(baseUrl: string, version: string): string {
  return `${baseUrl}/pulsar/pulsar-${version}/apache-pulsar-${version}-bin.tar.gz`;
}

export function pulsarChecksumUrl(baseUrl: string, version: string): string {
  return `${pulsarTarballUrl(baseUrl, version)}.sha512`;
}

const MISSING = new Set([403, 404, 410]);

function describe(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code;
  const detail = e?.cause?.message ?? e?.message ?? String(error);
  return code && !detail.includes(code) ? `${detail} (${code})` : detail;
}

/** Resolves when the archive has the version's checksum; throws a 422, 502 or 503 problem otherwise. */
export async function checkVersionInArchive(
  fetch: FetchLike,
  archive: { baseUrl: string; timeoutMs: number },
  version: string,
): Promise<{ checksumUrl: string }> {
  const checksumUrl = pulsarChecksumUrl(archive.baseUrl, version);
  let status: number;
  try {
    ({ status } = await fetch(checksumUrl, {
      method: 'HEAD',
      redirect: 'follow',
      signal: AbortSignal.timeout(archive.timeoutMs),
    }));
  } catch (error) {
    throw new ArchiveUnavailableError(503, checksumUrl, `unreachable: ${describe(error, archive.timeoutMs)}`);
  }
  if (status === 200) return { checksumUrl };
  if (MISSING.has(status)) throw new VersionNotInArchiveError(version, checksumUrl, status);
  if (status === 429 || status === 503) {
    throw new ArchiveUnavailableError(503, checksumUrl, `the archive answered ${status} (busy)`);
  }
  throw new ArchiveUnavailableError(502, checksumUrl, `the archive answered ${status}`);
}
