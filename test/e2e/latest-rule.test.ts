/**
 * The latest rule end to end, in small worlds seeded through the control interface: the real CLI
 * binary → the sandbox's API → the handlers → EC2 and SSM. `latest` answers only a validated,
 * available AMI (the published one while it qualifies, else the highest version); a delete of
 * the published AMI republishes by the same rule and says so (or what it would, in a dry run);
 * whatever `latest` answered, found or not, is what the cache repeats.
 */
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type E2e, startE2e } from '../support/e2e';
import { sandboxSsm, signedGet } from '../support/sandbox-clients';

let e2e: E2e;
let ssm: SSMClient;
const PARAMETER = '/pulsar-ami/dev/latest-ami-id';

beforeAll(async () => {
  e2e = await startE2e();
  ssm = sandboxSsm(e2e.url);
});
afterAll(async () => {
  ssm.destroy();
  await e2e.close();
});

const validatedTags = (version: string, name: string) => ({
  Name: name,
  PulsarVersion: version,
  ManagedBy: 'pulsar-ami',
  Validated: 'true',
});

async function seed(images: { version: string; createdAt: string; validated?: boolean }[]) {
  const specs = images.map(({ version, createdAt, validated = true }) => {
    const name = `pulsar-base-${version}-${createdAt.replace(/[-:TZ]/g, '').slice(0, 14)}`;
    return {
      name,
      createdAt,
      tags: validated
        ? validatedTags(version, name)
        : { Name: name, PulsarVersion: version, ManagedBy: 'pulsar-ami' },
    };
  });
  const out = await e2e.control<{ images: { imageId: string }[] }>('POST', 'images', { images: specs });
  return out.images.map((i) => i.imageId);
}

async function published(): Promise<string | null> {
  try {
    return (await ssm.send(new GetParameterCommand({ Name: PARAMETER }))).Parameter?.Value ?? null;
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') return null;
    throw error;
  }
}

const publish = (imageId: string) =>
  ssm.send(
    new PutParameterCommand({
      Name: PARAMETER,
      Value: imageId,
      Type: 'String',
      DataType: 'aws:ec2:image',
      Overwrite: true,
    }),
  );
const latestOf = (stdout: string) => stdout.trim().split(' ').at(-1);

beforeEach(async () => {
  await e2e.control('POST', 'reset', { seed: false });
});

describe('latest', () => {
  it('answers the highest validated version, not a patch of an older line built later', async () => {
    const [newerLine, olderPatch] = await seed([
      { version: '3.10.0', createdAt: '2025-07-01T00:00:00Z' },
      { version: '3.9.1', createdAt: '2025-08-01T00:00:00Z' },
      { version: '4.0.0', createdAt: '2025-09-01T00:00:00Z', validated: false },
    ]);
    const result = await e2e.cli(['latest', '--no-cache']);
    expect(result).toMatchObject({ code: 0, stdout: `Latest AMI: ${newerLine}\n` });
    expect(olderPatch).not.toBe(newerLine);
  });

  it('answers an unvalidated AMI only when asked for it', async () => {
    const [unvalidated] = await seed([
      { version: '3.0.0', createdAt: '2025-07-01T00:00:00Z', validated: false },
    ]);
    const plain = await e2e.cli(['latest', '--no-cache']);
    expect(plain).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'No validated Pulsar AMI found in us-west-2\n',
    });
    const any = await e2e.cli(['latest', '--no-cache', '--include-unvalidated']);
    expect(any).toMatchObject({ code: 0, stdout: `Latest AMI: ${unvalidated}\n` });
    const api = await signedGet(e2e.url, '/amis/latest?validated=false');
    expect(api.status).toBe(200);
    expect(((await api.json()) as { imageId: string }).imageId).toBe(unvalidated);
    expect((await signedGet(e2e.url, '/amis/latest')).status).toBe(404);
  });

  it('repeats from the cache what it answered last, a not-found included', async () => {
    await e2e.control('POST', 'reset', {});
    const first = await e2e.cli(['latest', '--no-cache']);
    expect(first.code).toBe(0);
    await e2e.control('POST', 'reset', { seed: false });
    const none = await e2e.cli(['latest', '--no-cache']);
    expect(none).toMatchObject({ code: 1, stderr: 'No validated Pulsar AMI found in us-west-2\n' });
    const cached = await e2e.cli(['latest']);
    expect(cached).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'No validated Pulsar AMI found in us-west-2\n',
    });
  });
});

describe('delete of the published AMI', () => {
  it('republishes the highest validated version left, and says so', async () => {
    const [top, second, third] = await seed([
      { version: '3.10.0', createdAt: '2025-07-01T00:00:00Z' },
      { version: '3.9.1', createdAt: '2025-08-01T00:00:00Z' },
      { version: '3.9.0', createdAt: '2025-09-01T00:00:00Z' },
    ]);
    await publish(top ?? '');

    const dry = await e2e.cli(['--dry-run', 'delete', '--ami-id', top ?? '']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`[DRY RUN] Would republish the latest AMI: ${second}`);
    expect(await published()).toBe(top);

    const result = await e2e.cli(['delete', '--ami-id', top ?? '']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Latest AMI republished: ${second}`);
    expect(await published()).toBe(second);
    expect(latestOf((await e2e.cli(['latest', '--no-cache'])).stdout)).toBe(second);
    expect(third).toBeDefined();
  });

  it('clears the latest when no validated AMI is left, and latest says none (not an unvalidated one)', async () => {
    await e2e.control('POST', 'reset', {});
    const seededLatest = await published();
    expect(seededLatest).toMatch(/^ami-/);
    const dry = await e2e.cli(['--dry-run', 'delete', '--ami-id', seededLatest ?? '']);
    expect(dry.stdout).toContain(
      '[DRY RUN] Would clear the latest AMI: no validated Pulsar AMI left to publish',
    );
    const result = await e2e.cli(['delete', '--ami-id', seededLatest ?? '']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Latest AMI cleared: no validated Pulsar AMI left to publish');
    expect(await published()).toBeNull();
    const latest = await e2e.cli(['latest', '--no-cache']);
    expect(latest).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'No validated Pulsar AMI found in us-west-2\n',
    });
  });
});

describe('a failed re-validation of the published AMI', () => {
  it('unpublishes it by the latest rule, and latest never answers it again', async () => {
    await e2e.control('POST', 'reset', {});
    const before = await published();
    expect(before).toMatch(/^ami-/);
    expect((await e2e.cli(['latest', '--no-cache'])).stdout).toBe(`Latest AMI: ${before}\n`); // now cached
    const [other] = await seed([{ version: '2.11.1', createdAt: '2025-07-01T00:00:00Z' }]);
    await e2e.control('PUT', 'faults', { imageMissing: { component: 'java' } });
    const result = await e2e.cli(['validate', '--ami-id', before ?? '']);
    await e2e.control('DELETE', 'faults');
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ AMI VALIDATION FAILED');
    expect(result.stdout).toContain(`  Latest AMI republished: ${other}`);
    expect(await published()).toBe(other);
    // validate dropped the cached answers: a plain latest asks again.
    const latest = await e2e.cli(['latest']);
    expect(latest).toMatchObject({ code: 0, stdout: `Latest AMI: ${other}\n` });
  }, 60_000);
});
