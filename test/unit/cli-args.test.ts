import { describe, expect, it } from 'vitest';
import { AMIS, CUSTOM_DOMAIN_API, Harness, json, listRoute } from './cli-harness';

const deleted = {
  imageId: 'ami-0a1b2c3d4e5f67890',
  name: 'pulsar-base-3.0.0-20251006',
  state: 'available',
  dryRun: true,
  deregistered: false,
  snapshots: [],
};

describe('global flags', () => {
  it.each([
    [['--region', 'eu-west-1', '--json', 'list']],
    [['list', '--region', 'eu-west-1', '--json']],
    [['--json', 'list', '--region', 'eu-west-1']],
  ])('are accepted before or after the command: %j', async (argv) => {
    const h = new Harness({ routes: listRoute(AMIS), env: { PULSAR_AMI_API_URL: CUSTOM_DOMAIN_API } });
    const r = await h.run(...argv);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ region: 'eu-west-1', count: 3 });
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]?.headers.authorization).toContain('/eu-west-1/execute-api/aws4_request');
  });

  it.each([
    [['--dry-run', 'delete', '--ami-id', 'ami-0a1b2c3d4e5f67890']],
    [['delete', '--ami-id', 'ami-0a1b2c3d4e5f67890', '--dry-run']],
  ])('--dry-run in either position sends dryRun=true: %j', async (argv) => {
    const h = new Harness({ routes: { 'DELETE /amis/ami-0a1b2c3d4e5f67890': () => json(200, deleted) } });
    const r = await h.run(...argv);
    expect(r.code).toBe(0);
    expect(h.calls[0]?.url.searchParams.get('dryRun')).toBe('true');
    expect(h.calls[0]?.url.searchParams.get('keepSnapshots')).toBe('false');
  });

  it('defaults the region to us-west-2', async () => {
    const h = new Harness({ routes: listRoute([]) });
    const r = await h.run('list');
    expect(r.code).toBe(0);
    expect(h.calls[0]?.headers.authorization).toContain('/us-west-2/execute-api/aws4_request');
  });

  it('--api-url overrides PULSAR_AMI_API_URL, trailing slash removed', async () => {
    const h = new Harness({ routes: listRoute([]) });
    const r = await h.run('--api-url', 'http://127.0.0.1:4566/', 'list', '--no-cache');
    expect(r.code).toBe(0);
    expect(h.calls[0]?.url.toString()).toBe('http://127.0.0.1:4566/amis');
  });
});

describe('usage errors: exit 2, one-line reason, no HTTP call', () => {
  it.each([
    [['list', '--foo'], "pulsar-ami: unknown option '--foo'"],
    [['list', '--region'], "pulsar-ami: option '--region <REGION>' argument missing"],
    [['lst'], "pulsar-ami: unknown command 'lst' (Did you mean list?)"],
    [['delete'], "pulsar-ami: required option '--ami-id <AMI_ID>' not specified"],
    [
      ['delete', '--ami-id', 'ami-XYZ'],
      "pulsar-ami: --ami-id must look like ami-0123456789abcdef0 (ami- and 8 or 17 hex digits), got 'ami-XYZ'",
    ],
    [
      ['--region', 'us-weast-2', 'latest'],
      "pulsar-ami: --region must be an AWS region such as us-west-2, got 'us-weast-2'",
    ],
    [
      ['latest', '--region', 'us-weast-2'],
      "pulsar-ami: --region must be an AWS region such as us-west-2, got 'us-weast-2'",
    ],
    [[], 'pulsar-ami: a command is required (build, list, validate, delete, latest, cleanup, restore)'],
    [['list', 'extra'], "pulsar-ami: too many arguments for 'list'. Expected 0 arguments but got 1."],
    [
      ['--api-url', 'ftp://example.com', 'latest'],
      'pulsar-ami: --api-url must be an http(s) URL without query or credentials',
    ],
    [['--api-url', 'not a url', 'latest'], 'pulsar-ami: --api-url must be an http(s) URL such as'],
    // A password or a query (a signature, a token) in the URL is never echoed.
    [
      ['--api-url', 'http://user:s3cret@127.0.0.1:4566', 'latest'],
      "pulsar-ami: --api-url must be an http(s) URL without query or credentials, got 'http://user:***@127.0.0.1:4566'",
    ],
    [
      ['--api-url', 'https://api.example.com/dev?X-Amz-Signature=abc123', 'latest'],
      "pulsar-ami: --api-url must be an http(s) URL without query or credentials, got 'https://api.example.com/dev?***'",
    ],
  ])('%j', async (argv, message) => {
    const h = new Harness({ routes: listRoute(AMIS) });
    const r = await h.run(...argv);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]?.startsWith(message)).toBe(true);
    expect(lines[1]).toBe("Run 'pulsar-ami --help' for usage.");
    expect(r.stdout).toBe('');
    expect(h.calls).toHaveLength(0);
  });

  it.each([
    [['--api-url', 'http://api.example.com/dev'], {}, '--api-url', 'api.example.com'],
    [['--api-url', 'http://10.0.0.5:8080'], {}, '--api-url', '10.0.0.5:8080'],
    [['--api-url', 'http://127.0.0.1.nip.io'], {}, '--api-url', '127.0.0.1.nip.io'],
    [
      [],
      { PULSAR_AMI_API_URL: 'http://abc.execute-api.us-west-2.amazonaws.com/dev' },
      'PULSAR_AMI_API_URL',
      'abc.',
    ],
  ])('refuses a plain-http API that is not this machine: %j %j', async (argv, env, what, host) => {
    const h = new Harness({ env, routes: listRoute(AMIS) });
    const r = await h.run(...argv, 'latest');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${what} must be https:// unless it is this machine (http://127.0.0.1, localhost or [::1]): signed requests and AMI ids would travel in clear to ${host}`,
    );
    expect(r.stdout).toBe('');
    expect(h.calls).toHaveLength(0);
  });

  it.each([
    'http://127.0.0.1:4566',
    'http://localhost:4566/dev',
    'http://[::1]:4566',
    'https://api.example.com/dev',
  ])('accepts %s', async (url) => {
    const h = new Harness({
      env: { PULSAR_AMI_API_URL: url },
      routes: {
        'GET /amis/latest': () => json(200, { imageId: 'ami-0a1b2c3d4e5f67890', source: 'parameter' }),
      },
    });
    const r = await h.run('latest');
    expect(r).toMatchObject({ code: 0, stdout: 'Latest AMI: ami-0a1b2c3d4e5f67890\n' });
  });

  it('a bad environment setting is a usage error too', async () => {
    const h = new Harness({
      env: { PULSAR_AMI_API_URL: 'http://127.0.0.1:9', PULSAR_AMI_HTTP_TIMEOUT_MS: 'soon' },
    });
    const r = await h.run('latest');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "PULSAR_AMI_HTTP_TIMEOUT_MS must be a whole number of milliseconds (1-600000), got 'soon'",
    );
    expect(h.calls).toHaveLength(0);
  });

  it('with --json, the usage error is a JSON problem on stderr', async () => {
    const h = new Harness();
    const r = await h.run('--json', 'delete', '--ami-id', 'nope');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ title: 'Usage error', exitCode: 2 });
    expect(JSON.parse(r.stderr).detail).toContain("got 'nope'");
    expect(h.calls).toHaveLength(0);
  });
});

describe('--help', () => {
  it('lists every command and global flag in the guide’s words, exit 0', async () => {
    const h = new Harness();
    const r = await h.run('--help');
    expect(r.code).toBe(0);
    for (const text of [
      'list',
      'List all Pulsar AMIs in the region with metadata',
      'delete',
      'Delete an AMI and optionally its associated snapshots',
      'latest',
      'Display the ID of the latest validated Pulsar AMI (published, else highest version)',
      '--region <REGION>',
      'AWS region (default: "us-west-2")',
      '--dry-run',
      'Simulate operations without making changes (useful for testing)',
      '--debug',
      'Enable verbose debug logging',
      '--json',
      '--api-url <URL>',
      'PULSAR_AMI_API_URL',
    ]) {
      expect(r.stdout).toContain(text);
    }
    expect(h.calls).toHaveLength(0);
  });

  it.each([
    [
      'delete',
      [
        '--ami-id <AMI_ID>',
        'AMI ID to delete (required)',
        '--keep-snapshots',
        'Keep EBS snapshots (default: delete snapshots)',
        '--region',
      ],
    ],
    ['list', ['--no-cache', 'Skip cache and fetch fresh data from AWS', '--dry-run']],
    [
      'latest',
      ['Display the ID of the latest validated Pulsar AMI (published, else highest version)', '--no-cache'],
    ],
  ])('%s --help shows its options and the global ones', async (command, texts) => {
    const r = await new Harness().run(command, '--help');
    expect(r.code).toBe(0);
    for (const text of texts) expect(r.stdout).toContain(text);
    // Not "most recently created": latest is the published AMI first.
    expect(r.stdout).not.toContain('most recently created');
  });
});
