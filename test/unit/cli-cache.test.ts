import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LATEST_TTL_MS, LIST_TTL_MS } from '../../cli/cache';
import { AMIS, API, CUSTOM_DOMAIN_API, Harness, json, listRoute, problem, T0 } from './cli-harness';

const deleteResponse = (dryRun: boolean) => ({
  imageId: 'ami-0a1b2c3d4e5f67890',
  name: 'pulsar-base-3.0.0-20251006',
  state: 'available',
  dryRun,
  deregistered: !dryRun,
  snapshots: [],
});

const routes = {
  ...listRoute(AMIS),
  'GET /amis/latest': () => json(200, { imageId: 'ami-0a1b2c3d4e5f67890', source: 'parameter' }),
  'DELETE /amis/ami-0a1b2c3d4e5f67890': (url: URL) =>
    json(200, deleteResponse(url.searchParams.get('dryRun') === 'true')),
};

describe('list cache', () => {
  it('writes one file per region and answers from it within 5 minutes, without any call', async () => {
    const h = new Harness({ routes });
    expect((await h.run('list')).code).toBe(0);
    expect(h.calls).toHaveLength(1);
    const file = JSON.parse(readFileSync(h.cacheFile, 'utf8'));
    expect(file).toMatchObject({ format: 2, region: 'us-west-2', api: API, list: { fetchedAt: T0 } });
    expect(file.list.value.map((a: { imageId: string }) => a.imageId)).toEqual(AMIS.map((a) => a.imageId));

    h.now = T0 + 61_000;
    const r = await h.run('list');
    expect(r.code).toBe(0);
    expect(h.calls).toHaveLength(1);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['Using cached AMI list (age 61s)', '✓ Found 3 AMI(s)']);
    expect(r.stdout.split('\n')[0]).not.toContain('ami-');
    expect(r.stdout).toContain('ami-09876543210fedcba');
  });

  it('expires after the TTL (injected clock)', async () => {
    const h = new Harness({ routes });
    await h.run('list');
    h.now = T0 + LIST_TTL_MS - 1;
    await h.run('list');
    expect(h.calls).toHaveLength(1);
    h.now = T0 + LIST_TTL_MS;
    const r = await h.run('list');
    expect(r.stdout).toMatch(/^Fetching AMI list from AWS\.\.\./);
    expect(h.calls).toHaveLength(2);
  });

  it('--no-cache bypasses and refreshes the cache', async () => {
    const h = new Harness({ routes });
    await h.run('list');
    h.now = T0 + 10_000;
    const r = await h.run('list', '--no-cache');
    expect(r.stdout).toMatch(/^Fetching AMI list from AWS\.\.\./);
    expect(h.calls).toHaveLength(2);
    expect(JSON.parse(readFileSync(h.cacheFile, 'utf8')).list.fetchedAt).toBe(T0 + 10_000);
  });

  it('is keyed by API URL and by region', async () => {
    const h = new Harness({ routes, env: { PULSAR_AMI_API_URL: CUSTOM_DOMAIN_API } });
    await h.run('list');
    await h.run('--api-url', 'http://127.0.0.1:4566', 'list');
    expect(h.calls).toHaveLength(2);
    await h.run('--region', 'eu-west-1', 'list');
    expect(h.calls).toHaveLength(3);
    expect(existsSync(join(h.home, '.pulsar-aws-lab', 'ami-cache', 'ami-list-eu-west-1.json'))).toBe(true);
  });

  it.each([
    ['not JSON', '{"format": 1, "regi', 'corrupt'],
    [
      'wrong shape',
      JSON.stringify({ format: 1, region: 'us-west-2', api: API, list: { fetchedAt: T0, value: 7 } }),
      'unexpected content',
    ],
  ])('a %s file is ignored and refetched (--debug says so)', async (_what, content, said) => {
    const h = new Harness({ routes });
    mkdirSync(join(h.home, '.pulsar-aws-lab', 'ami-cache'), { recursive: true });
    writeFileSync(h.cacheFile, content);
    const r = await h.run('--debug', 'list');
    expect(r.code).toBe(0);
    expect(h.calls).toHaveLength(1);
    expect(r.stderr).toContain(said);
    expect(JSON.parse(readFileSync(h.cacheFile, 'utf8')).list.fetchedAt).toBe(T0);
  });

  it('a folder that cannot be written: one warning line, command still succeeds', async () => {
    const h = new Harness({ routes });
    // A file where the folder should be: mkdir fails even for root.
    writeFileSync(join(h.home, '.pulsar-aws-lab'), 'in the way');
    const r = await h.run('list');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('✓ Found 3 AMI(s)');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Warning: could not write AMI cache .*ami-list-us-west-2\.json: ENOTDIR$/);
  });
});

describe('latest cache', () => {
  it('answers from cache for 60 seconds, then asks again', async () => {
    const h = new Harness({ routes });
    expect((await h.run('latest')).stdout).toBe('Latest AMI: ami-0a1b2c3d4e5f67890\n');
    h.now = T0 + LATEST_TTL_MS - 1;
    expect((await h.run('latest')).stdout).toBe('Latest AMI: ami-0a1b2c3d4e5f67890\n');
    expect(h.calls).toHaveLength(1);
    h.now = T0 + LATEST_TTL_MS;
    await h.run('latest');
    expect(h.calls).toHaveLength(2);
    await h.run('latest', '--no-cache');
    expect(h.calls).toHaveLength(3);
  });

  it('shares the region file with the list entry', async () => {
    const h = new Harness({ routes });
    await h.run('list');
    await h.run('latest');
    const file = JSON.parse(readFileSync(h.cacheFile, 'utf8'));
    expect(file.list.value).toHaveLength(3);
    expect(file.latest.validated.value.found.imageId).toBe('ami-0a1b2c3d4e5f67890');
  });

  it('holds a not-found answer too, so a plain latest never repeats an older found one', async () => {
    let published: string | null = 'ami-0a1b2c3d4e5f67890';
    const h = new Harness({
      routes: {
        ...routes,
        'GET /amis/latest': () =>
          published
            ? json(200, { imageId: published, source: 'parameter' })
            : problem(404, 'No AMI found', 'No validated Pulsar AMI found in us-west-2'),
      },
    });
    expect((await h.run('latest', '--no-cache')).stdout).toBe('Latest AMI: ami-0a1b2c3d4e5f67890\n');
    published = null;
    expect(await h.run('latest', '--no-cache')).toMatchObject({
      code: 1,
      stderr: 'No validated Pulsar AMI found in us-west-2\n',
    });
    const calls = h.calls.length;
    expect(await h.run('latest')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'No validated Pulsar AMI found in us-west-2\n',
    });
    expect(h.calls).toHaveLength(calls);
  });

  it('caches latest and latest --include-unvalidated apart', async () => {
    const h = new Harness({
      routes: {
        ...routes,
        'GET /amis/latest': (url: URL) =>
          json(200, {
            imageId:
              url.searchParams.get('validated') === 'false'
                ? 'ami-0ffffffffffffffff'
                : 'ami-0a1b2c3d4e5f67890',
            source: 'search',
          }),
      },
    });
    expect((await h.run('latest')).stdout).toBe('Latest AMI: ami-0a1b2c3d4e5f67890\n');
    expect((await h.run('latest', '--include-unvalidated')).stdout).toBe(
      'Latest AMI: ami-0ffffffffffffffff\n',
    );
    expect((await h.run('latest')).stdout).toBe('Latest AMI: ami-0a1b2c3d4e5f67890\n');
    expect((await h.run('latest', '--include-unvalidated')).stdout).toBe(
      'Latest AMI: ami-0ffffffffffffffff\n',
    );
    expect(h.calls).toHaveLength(2);
  });
});

describe('invalidation', () => {
  it('delete removes the region file', async () => {
    const h = new Harness({ routes });
    await h.run('list');
    expect(existsSync(h.cacheFile)).toBe(true);
    const r = await h.run('delete', '--ami-id', 'ami-0a1b2c3d4e5f67890');
    expect(r.code).toBe(0);
    expect(existsSync(h.cacheFile)).toBe(false);
    await h.run('list');
    expect(h.calls.filter((c) => c.method === 'GET')).toHaveLength(2);
  });

  it('a dry-run delete keeps it', async () => {
    const h = new Harness({ routes });
    await h.run('list');
    const r = await h.run('--dry-run', 'delete', '--ami-id', 'ami-0a1b2c3d4e5f67890');
    expect(r.code).toBe(0);
    expect(existsSync(h.cacheFile)).toBe(true);
  });

  it('a refused delete (409) keeps it', async () => {
    const h = new Harness({
      routes: {
        ...routes,
        'DELETE /amis/ami-0a1b2c3d4e5f67890': () =>
          json(409, {
            title: 'AMI in use',
            status: 409,
            detail: 'AMI ami-0a1b2c3d4e5f67890 is used by 1 instance(s): i-0123456789abcdef0',
          }),
      },
    });
    await h.run('list');
    expect((await h.run('delete', '--ami-id', 'ami-0a1b2c3d4e5f67890')).code).toBe(1);
    expect(existsSync(h.cacheFile)).toBe(true);
  });
});

describe('the harness’s temporary HOME', () => {
  let home = '';
  it('each harness has one', () => {
    home = new Harness().home;
    expect(existsSync(home)).toBe(true);
  });
  it('it is removed after the test', () => {
    expect(home).not.toBe('');
    expect(existsSync(home)).toBe(false);
  });
});
