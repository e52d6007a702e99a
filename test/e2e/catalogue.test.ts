/**
 * The catalogue end to end: the real CLI binary → SigV4 → the sandbox's API Gateway → the
 * project's Lambda handlers → the real SDK → the sandbox's EC2 and SSM, all over HTTP.
 */
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Ami } from '../../functions/lib/api-types';
import { type E2e, startE2e } from '../support/e2e';

let e2e: E2e;
let ec2: EC2Client;

beforeAll(async () => {
  e2e = await startE2e();
  ec2 = e2e.ec2;
});
afterAll(async () => {
  await e2e.close();
});

beforeEach(async () => {
  await e2e.reset();
  await rmCache();
});

async function rmCache() {
  const dir = join(e2e.home, '.pulsar-aws-lab');
  await chmod(dir, 0o755).catch(() => undefined);
  const { rm } = await import('node:fs/promises');
  await rm(dir, { recursive: true, force: true });
}

async function imageIds(): Promise<string[]> {
  const page = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
  return (page.Images ?? []).map((i) => i.ImageId ?? '').sort();
}

async function listed(): Promise<Ami[]> {
  const result = await e2e.cli(['list', '--json', '--no-cache']);
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { items: Ami[] }).items;
}

async function seedImage(image: Record<string, unknown>): Promise<string> {
  const seeded = await e2e.control<{ images: { imageId: string }[] }>('POST', 'images', { images: [image] });
  const id = seeded.images[0]?.imageId;
  if (!id) throw new Error('sandbox did not seed the image');
  return id;
}

describe('list', () => {
  it('shows only this tool’s AMIs, newest first, in the guide’s table, and the ids survive grep | awk', async () => {
    const result = await e2e.cli(['list']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('Fetching AMI list from AWS...');
    expect(lines[1]).toBe('✓ Found 4 AMI(s)');
    expect(result.stdout).toMatch(/AMI ID\s+Name\s+Version\s+State\s+Created/);
    const ids = lines.filter((l) => l.includes('ami-')).map((l) => l.trim().split(/\s+/)[0]);
    const amis = await listed();
    expect(ids).toEqual(amis.map((a) => a.imageId));
    expect(amis.map((a) => a.version)).toEqual(['3.0.0', '2.11.0', '2.10.0', '2.9.0']);
    expect(result.stdout).not.toContain('ubuntu');
    expect(result.stdout).not.toContain('al2023');
  });

  it('answers from the cache the second time, with no request, until --no-cache', async () => {
    expect((await e2e.cli(['list'])).code).toBe(0);
    await e2e.control('DELETE', 'calls');
    const cached = await e2e.cli(['list']);
    expect(cached.code).toBe(0);
    expect(cached.stdout).toMatch(/^Using cached AMI list/);
    expect(cached.stdout).toContain('✓ Found 4 AMI(s)');
    expect(await e2e.calls()).toEqual([]);
    const fresh = await e2e.cli(['list', '--no-cache']);
    expect(fresh.stdout).toMatch(/^Fetching AMI list from AWS/);
    expect((await e2e.calls()).some((c) => c.service === 'execute-api')).toBe(true);
    const files = await readdir(join(e2e.home, '.pulsar-aws-lab', 'ami-cache'));
    expect(files).toContain('ami-list-us-west-2.json');
  });

  it('ignores a corrupt cache file and fetches again', async () => {
    const dir = join(e2e.home, '.pulsar-aws-lab', 'ami-cache');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'ami-list-us-west-2.json'), '{ not json');
    const result = await e2e.cli(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Fetching AMI list from AWS...');
    expect(result.stdout).toContain('✓ Found 4 AMI(s)');
  });

  it('still works, with a warning, when the cache folder cannot be written', async () => {
    const base = join(e2e.home, '.pulsar-aws-lab');
    await mkdir(base, { recursive: true });
    await writeFile(join(base, 'ami-cache'), 'a file where the folder should be');
    const result = await e2e.cli(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✓ Found 4 AMI(s)');
    expect(result.stderr).toMatch(/^Warning: could not write AMI cache/m);
  });

  it('pages through more AMIs than one API page holds', async () => {
    await e2e.control('POST', 'images', {
      count: 250,
      images: [{ name: 'pulsar-base-3.1.0-20251101000000' }],
    });
    const amis = await listed();
    expect(amis).toHaveLength(254);
    expect(new Set(amis.map((a) => a.imageId)).size).toBe(254);
  });
});

describe('latest', () => {
  it('prints the published latest AMI', async () => {
    const newest = (await listed())[0];
    const result = await e2e.cli(['latest']);
    expect(result).toMatchObject({ code: 0, stdout: `Latest AMI: ${newest?.imageId}\n` });
  });

  it('does not answer with a published AMI that was deregistered outside the tool', async () => {
    const published = (await e2e.cli(['latest'])).stdout.trim().split(' ').at(-1) ?? '';
    await ec2.send(new DeregisterImageCommand({ ImageId: published }));
    // The seed's other AMIs are not validated: none qualifies.
    const result = await e2e.cli(['latest', '--no-cache']);
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'No validated Pulsar AMI found in us-west-2\n',
    });
    const any = await e2e.cli(['latest', '--no-cache', '--include-unvalidated']);
    expect(any.code).toBe(0);
    const answer = any.stdout.trim().split(' ').at(-1);
    expect(answer).toMatch(/^ami-/);
    expect(answer).not.toBe(published);
    expect(await imageIds()).toContain(answer);
  });

  it('exits 1 when there is none', async () => {
    await e2e.control('POST', 'reset', { seed: false });
    const result = await e2e.cli(['latest']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('No validated Pulsar AMI found in us-west-2');
  });
});

describe('delete', () => {
  it('--dry-run reports the plan and changes nothing', async () => {
    const target = (await listed()).at(-2);
    const before = await imageIds();
    const result = await e2e.cli(['--dry-run', 'delete', '--ami-id', target?.imageId ?? '']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Deleting AMI: ${target?.imageId}`);
    expect(result.stdout).toContain('DRY RUN');
    expect(await imageIds()).toEqual(before);
    expect(await e2e.changes()).toEqual([]);
  });

  it('deregisters the AMI and deletes its snapshots, with the guide’s output, and invalidates the cache', async () => {
    const amis = await listed();
    expect((await e2e.cli(['list'])).code).toBe(0);
    const target = amis.at(-2);
    if (!target) throw new Error('no AMI to delete');
    const result = await e2e.cli(['delete', '--ami-id', target.imageId]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `Deleting AMI: ${target.imageId}`,
        `  AMI Name: ${target.name}`,
        '  State: available',
        '  Snapshots: 1',
        '',
        '  Deregistering AMI... ✓',
        '  Deleting 1 snapshot(s)...',
        `    Deleting ${target.snapshotIds[0]}... ✓`,
        '',
        '✓ AMI deleted successfully',
        '',
      ].join('\n'),
    );
    expect(await imageIds()).not.toContain(target.imageId);
    const snapshots = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    expect((snapshots.Snapshots ?? []).map((s) => s.SnapshotId)).not.toContain(target.snapshotIds[0]);
    const after = await e2e.cli(['list']);
    expect(after.stdout).toMatch(/^Fetching AMI list from AWS/);
    expect(after.stdout).not.toContain(target.imageId);
  });

  it('--keep-snapshots keeps them', async () => {
    const target = (await listed()).at(-2);
    const result = await e2e.cli(['delete', '--ami-id', target?.imageId ?? '', '--keep-snapshots']);
    expect(result.code).toBe(0);
    const snapshots = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    expect((snapshots.Snapshots ?? []).map((s) => s.SnapshotId)).toContain(target?.snapshotIds[0]);
    expect((await e2e.changes()).map((c) => c.action)).toEqual(['DeregisterImage']);
  });
});

describe('bad input gets a clear error and changes nothing', () => {
  const malformed = ['ami-xyz', 'i-0123456789abcdef0', '', 'a'.repeat(2000)];
  for (const id of malformed) {
    it(`malformed --ami-id ${JSON.stringify(id.slice(0, 20))}${id.length > 20 ? '…' : ''}: exit 2, no request`, async () => {
      const result = await e2e.cli(['delete', '--ami-id', id]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/ami-id/i);
      expect(result.stderr.split('\n')[0]?.length ?? 0).toBeLessThan(200);
      expect(await e2e.calls()).toEqual([]);
    });
  }

  it('an unknown AMI: exit 1, nothing deleted', async () => {
    const before = await imageIds();
    const result = await e2e.cli(['delete', '--ami-id', 'ami-0fffffffffffffff0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ami-0fffffffffffffff0 was not found');
    expect(await imageIds()).toEqual(before);
    expect(await e2e.changes()).toEqual([]);
  });

  it('an AMI that is not this tool’s: exit 1, untouched', async () => {
    const page = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    const foreign = page.Images?.find((i) => i.Name?.startsWith('ubuntu'))?.ImageId ?? '';
    expect(foreign).toMatch(/^ami-/);
    const result = await e2e.cli(['delete', '--ami-id', foreign]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('not a pulsar-ami image');
    expect(await imageIds()).toContain(foreign);
    expect(await e2e.changes()).toEqual([]);
  });

  it('an AMI in use: exit 1 naming the instance, untouched', async () => {
    const target = (await listed()).at(-1)?.imageId ?? '';
    const { instanceId } = await e2e.control<{ instanceId: string }>('POST', 'instances', {
      imageId: target,
      state: 'stopped',
    });
    const result = await e2e.cli(['delete', '--ami-id', target]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(instanceId);
    expect(await imageIds()).toContain(target);
    expect(await e2e.changes()).toEqual([]);
  });

  it('a protected AMI: exit 1, untouched', async () => {
    const id = await seedImage({ name: 'pulsar-base-3.0.1-20251107000000', deregistrationProtection: true });
    const result = await e2e.cli(['delete', '--ami-id', id]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('protected');
    expect(await imageIds()).toContain(id);
    expect(await e2e.changes()).toEqual([]);
  });

  it('an invalid region: exit 2, no request', async () => {
    const result = await e2e.cli(['--region', 'us-weast-2', 'list']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('us-weast-2');
    expect(await e2e.calls()).toEqual([]);
  });

  it('a flag missing its value, an unknown flag, an unknown command: exit 2, no request', async () => {
    for (const args of [['delete', '--ami-id'], ['list', '--colour'], ['frobnicate'], ['--region']]) {
      const result = await e2e.cli(args);
      expect([args, result.code]).toEqual([args, 2]);
      expect(result.stderr.trim().length).toBeGreaterThan(0);
    }
    expect(await e2e.calls()).toEqual([]);
  });

  it('global flags work after the command too', async () => {
    const result = await e2e.cli(['latest', '--region', 'us-west-2', '--debug']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/GET .*\/amis\/latest/);
  });

  it('no credentials: exit 1, no request', async () => {
    const result = await e2e.cli(['latest'], {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No AWS credentials found');
    expect(await e2e.calls()).toEqual([]);
  });

  it('a bad signature: refused with 403, exit 1, nothing changed', async () => {
    const target = (await listed()).at(-1)?.imageId ?? '';
    await e2e.control('DELETE', 'calls');
    const result = await e2e.cli(['delete', '--ami-id', target], { AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/signature/i);
    expect(await imageIds()).toContain(target);
    expect(await e2e.changes()).toEqual([]);
  });

  it('the API unreachable: exit 1 with the URL', async () => {
    // A port that was just free and is closed again: nothing listens there.
    const { createServer } = await import('node:http');
    const probe = createServer();
    await new Promise<void>((ready) => probe.listen(0, '127.0.0.1', ready));
    const port = (probe.address() as { port: number }).port;
    await new Promise((closed) => probe.close(closed));
    const result = await e2e.cli(['latest'], { PULSAR_AMI_API_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Cannot reach the pulsar-ami API at http://127.0.0.1:${port}`);
  });

  it('EC2 throttling: retried, then a clear error; once it passes, the command works', async () => {
    await e2e.control('PUT', 'faults', { throttle: { service: 'ec2' } });
    const result = await e2e.cli(['list', '--no-cache']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/throttl/i);
    const throttled = (await e2e.calls()).filter((c) => c.service === 'ec2' && c.action === 'DescribeImages');
    expect(throttled.length).toBeGreaterThan(1);
    await e2e.control('PUT', 'faults', { throttle: { service: 'ec2', times: 1 } });
    expect((await e2e.cli(['list', '--no-cache'])).code).toBe(0);
  });
});
