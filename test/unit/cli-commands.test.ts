import { describe, expect, it } from 'vitest';
import { AMIS, CUSTOM_DOMAIN_API, Harness, json, problem } from './cli-harness';

const ID = 'ami-0a1b2c3d4e5f67890';
const SNAP = 'snap-0123456789abcdef0';

const deletion = (over: Record<string, unknown> = {}) => ({
  imageId: ID,
  name: 'pulsar-base-3.0.0-20251006',
  state: 'available',
  dryRun: false,
  deregistered: true,
  snapshots: [{ snapshotId: SNAP, status: 'deleted' }],
  ...over,
});

const deleteRoute = (body: unknown, status = 200) => ({ [`DELETE /amis/${ID}`]: () => json(status, body) });

describe('latest', () => {
  it('prints the guide’s line, exit 0', async () => {
    const h = new Harness({
      routes: { 'GET /amis/latest': () => json(200, { imageId: ID, source: 'parameter' }) },
    });
    const r = await h.run('latest');
    expect(r).toEqual({ code: 0, stdout: `Latest AMI: ${ID}\n`, stderr: '' });
    expect(h.calls[0]?.url.pathname).toBe('/dev/amis/latest');
  });

  it('none: stderr "No validated Pulsar AMI found in REGION", exit 1', async () => {
    const h = new Harness({
      env: { PULSAR_AMI_API_URL: CUSTOM_DOMAIN_API },
      routes: { 'GET /amis/latest': () => problem(404, 'No AMI found', 'No Pulsar AMI found in eu-west-1') },
    });
    const r = await h.run('--region', 'eu-west-1', 'latest');
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'No validated Pulsar AMI found in eu-west-1\n' });
  });

  it('--json: the answer on stdout; none → a JSON problem on stderr', async () => {
    const ok = new Harness({
      routes: { 'GET /amis/latest': () => json(200, { imageId: ID, source: 'search', ami: AMIS[0] }) },
    });
    const r = await ok.run('latest', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({
      region: 'us-west-2',
      imageId: ID,
      source: 'search',
      cached: false,
    });

    const none = new Harness({ routes: { 'GET /amis/latest': () => problem(404, 'No AMI found', 'none') } });
    const n = await none.run('latest', '--json');
    expect(n.code).toBe(1);
    expect(n.stdout).toBe('');
    expect(JSON.parse(n.stderr)).toMatchObject({
      detail: 'No validated Pulsar AMI found in us-west-2',
      status: 404,
      exitCode: 1,
      requestId: 'req-123',
    });
  });

  it('a 404 that is not a problem document (wrong URL) is not "no AMIs"', async () => {
    const h = new Harness({
      routes: {
        'GET /amis/latest': () => new Response('Not Found', { status: 404, statusText: 'Not Found' }),
      },
    });
    const r = await h.run('latest');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: The API answered 404 Not Found: Not Found\n');
  });
});

describe('delete', () => {
  it('prints the guide’s output', async () => {
    const h = new Harness({ routes: deleteRoute(deletion()) });
    const r = await h.run('delete', '--ami-id', ID);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `Deleting AMI: ${ID}`,
        '  AMI Name: pulsar-base-3.0.0-20251006',
        '  State: available',
        '  Snapshots: 1',
        '',
        '  Deregistering AMI... ✓',
        '  Deleting 1 snapshot(s)...',
        `    Deleting ${SNAP}... ✓`,
        '',
        '✓ AMI deleted successfully',
        '',
      ].join('\n'),
    );
    expect(h.calls[0]?.url.search).toBe('?keepSnapshots=false&dryRun=false');
  });

  it('--keep-snapshots says it keeps them', async () => {
    const h = new Harness({
      routes: deleteRoute(deletion({ snapshots: [{ snapshotId: SNAP, status: 'kept' }] })),
    });
    const r = await h.run('delete', '--ami-id', ID, '--keep-snapshots');
    expect(r.code).toBe(0);
    expect(h.calls[0]?.url.searchParams.get('keepSnapshots')).toBe('true');
    expect(r.stdout).toContain(
      '  Deregistering AMI... ✓\n  Keeping 1 snapshot(s)\n\n✓ AMI deleted successfully\n',
    );
    expect(r.stdout).not.toContain('Deleting snap-');
  });

  it('--dry-run says what it would do and that nothing changed', async () => {
    const h = new Harness({
      routes: deleteRoute(
        deletion({
          dryRun: true,
          deregistered: false,
          snapshots: [{ snapshotId: SNAP, status: 'would-delete' }],
        }),
      ),
    });
    const r = await h.run('--dry-run', 'delete', '--ami-id', ID);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `[DRY RUN] Deleting AMI: ${ID}`,
        '  AMI Name: pulsar-base-3.0.0-20251006',
        '  State: available',
        '  Snapshots: 1',
        '',
        `  [DRY RUN] Would deregister AMI ${ID}`,
        '  [DRY RUN] Would delete 1 snapshot(s):',
        `    [DRY RUN] Would delete ${SNAP}`,
        '',
        '✓ Dry run: nothing was changed',
        '',
      ].join('\n'),
    );
  });

  it('a snapshot that fails: ✗ and its error, exit 1', async () => {
    const h = new Harness({
      routes: deleteRoute(
        deletion({
          snapshots: [
            { snapshotId: SNAP, status: 'deleted' },
            {
              snapshotId: 'snap-0fedcba9876543210',
              status: 'failed',
              error: 'InvalidSnapshot.InUse: in use by ami-x',
            },
          ],
        }),
      ),
    });
    const r = await h.run('delete', '--ami-id', ID);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`    Deleting ${SNAP}... ✓\n`);
    expect(r.stdout).toContain(
      '    Deleting snap-0fedcba9876543210... ✗ InvalidSnapshot.InUse: in use by ami-x\n',
    );
    expect(r.stdout).not.toContain('AMI deleted successfully');
    expect(r.stderr).toBe(
      '✗ AMI deregistered, but 1 snapshot(s) could not be deleted: snap-0fedcba9876543210\n',
    );
  });

  it('an orphaned snapshot is named with its tag, a held one with its holder; exit 1', async () => {
    const h = new Harness({
      routes: deleteRoute(
        deletion({
          snapshots: [
            { snapshotId: SNAP, status: 'kept', heldBy: 'ami-0eeeeeeeeeeeeeee1' },
            {
              snapshotId: 'snap-0fedcba9876543210',
              status: 'orphaned',
              error: 'InvalidSnapshot.InUse: in use',
            },
          ],
        }),
      ),
    });
    const r = await h.run('delete', '--ami-id', ID);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`    Keeping ${SNAP} (used by ami-0eeeeeeeeeeeeeee1)\n`);
    expect(r.stdout).toContain(
      `    Deleting snap-0fedcba9876543210... ✗ InvalidSnapshot.InUse: in use; tagged OrphanedFrom=${ID} for a later cleanup\n`,
    );
    expect(r.stderr).toBe(
      '✗ AMI deregistered, but 1 snapshot(s) could not be deleted: snap-0fedcba9876543210\n',
    );
  });

  it('409 in use: the detail naming the instances, exit 1', async () => {
    const h = new Harness({
      routes: deleteRoute(
        {
          type: 'urn:pulsar-ami:problem:ami-in-use',
          title: 'AMI in use',
          status: 409,
          detail: `AMI ${ID} is used by 2 instance(s): i-0123456789abcdef0, i-0fedcba9876543210`,
          instanceIds: ['i-0123456789abcdef0', 'i-0fedcba9876543210'],
        },
        409,
      ),
    });
    const r = await h.run('delete', '--ami-id', ID);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: AMI ${ID} is used by 2 instance(s): i-0123456789abcdef0, i-0fedcba9876543210\n`,
    );
  });

  it('409 in use: each reference on its own line (instance, launch template and version, parameter, recipe), exit 1', async () => {
    const references = [
      { kind: 'instance', id: 'i-0123456789abcdef0', detail: 'instance i-0123456789abcdef0' },
      {
        kind: 'launch-template',
        id: 'lt-0123456789abcdef0',
        detail: 'launch template web (lt-0123456789abcdef0) version 3 (default, latest)',
      },
      { kind: 'ssm-parameter', id: '/other-app/ami', detail: 'SSM parameter /other-app/ami' },
      { kind: 'image-recipe', id: 'derived/1.0.0', detail: 'Image Builder image recipe derived/1.0.0' },
    ];
    const h = new Harness({
      routes: deleteRoute(
        {
          title: 'AMI in use',
          status: 409,
          detail: `AMI ${ID} is in use by 4 resource(s): …; nothing was deleted`,
          imageId: ID,
          instanceIds: ['i-0123456789abcdef0'],
          references,
        },
        409,
      ),
    });
    for (const args of [['delete'], ['--dry-run', 'delete']]) {
      const r = await h.run(...args, '--ami-id', ID);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        [
          `Error: AMI ${ID} is in use by 4 resource(s); nothing was deleted:`,
          '  - instance i-0123456789abcdef0',
          '  - launch template web (lt-0123456789abcdef0) version 3 (default, latest)',
          '  - SSM parameter /other-app/ami',
          '  - Image Builder image recipe derived/1.0.0',
          '',
        ].join('\n'),
      );
    }
  });

  it('409 whose detail omits the instances still names them', async () => {
    const h = new Harness({
      routes: deleteRoute(
        { title: 'AMI in use', status: 409, detail: 'AMI in use', instanceIds: ['i-0123456789abcdef0'] },
        409,
      ),
    });
    const r = await h.run('delete', '--ami-id', ID);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: AMI in use (in use by i-0123456789abcdef0)\n');
  });

  it('404 not found: the API’s detail, exit 1', async () => {
    const h = new Harness({
      routes: {
        [`DELETE /amis/${ID}`]: () => problem(404, 'AMI not found', `AMI ${ID} was not found in us-west-2`),
      },
    });
    const r = await h.run('delete', '--ami-id', ID);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: AMI ${ID} was not found in us-west-2\n`);
  });

  it('--json prints the API’s result with the region', async () => {
    const h = new Harness({ routes: deleteRoute(deletion()) });
    const r = await h.run('delete', '--ami-id', ID, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ region: 'us-west-2', imageId: ID, deregistered: true });
  });
});

describe('API errors', () => {
  it('403 from API Gateway: its message and error type, exit 1', async () => {
    const h = new Harness({
      routes: {
        'GET /amis/latest': () =>
          new Response(
            JSON.stringify({ message: 'The security token included in the request is invalid.' }),
            {
              status: 403,
              headers: {
                'content-type': 'application/json',
                'x-amzn-ErrorType': 'UnrecognizedClientException:http://x',
              },
            },
          ),
      },
    });
    const r = await h.run('latest');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: The API refused the request (403 UnrecognizedClientException): The security token included in the request is invalid.\n',
    );
  });

  it('a 502 with an HTML body: one line, exit 1, no stack trace', async () => {
    const h = new Harness({
      routes: {
        'GET /amis': () =>
          new Response('<html>\n<b>Bad gateway</b>\n</html>', { status: 502, statusText: 'Bad Gateway' }),
      },
    });
    const r = await h.run('list');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: The API answered 502 Bad Gateway: <html> <b>Bad gateway</b> </html>\n');
  });

  it('--debug prints each request with status, duration and request id', async () => {
    const h = new Harness({
      routes: { 'GET /amis/latest': () => json(200, { imageId: ID, source: 'parameter' }) },
    });
    const r = await h.run('latest', '--debug');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /\[debug\] GET https:\/\/abc123\.execute-api\.us-west-2\.amazonaws\.com\/dev\/amis\/latest → 200 in \d+ ms \(x-amzn-RequestId req-123\)/,
    );
  });
});

describe('list pagination', () => {
  it('follows nextToken until absent, keeping the order', async () => {
    const h = new Harness({
      routes: {
        'GET /amis': (url) => {
          const token = url.searchParams.get('nextToken');
          if (token === null) return json(200, { items: [AMIS[0]], nextToken: 'p2' });
          if (token === 'p2') return json(200, { items: [AMIS[1]], nextToken: 'p3' });
          return json(200, { items: [AMIS[2]] });
        },
      },
    });
    const r = await h.run('list', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).items.map((a: { imageId: string }) => a.imageId)).toEqual(
      AMIS.map((a) => a.imageId),
    );
    expect(h.calls.map((c) => c.url.searchParams.get('nextToken'))).toEqual([null, 'p2', 'p3']);
  });

  it('stops with an error when the API repeats a token', async () => {
    const h = new Harness({
      routes: { 'GET /amis': () => json(200, { items: [AMIS[0]], nextToken: 'same' }) },
    });
    const r = await h.run('list');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: The API returned the same nextToken twice while listing AMIs\n');
    expect(h.calls).toHaveLength(2);
  });
});
