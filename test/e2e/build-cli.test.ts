/**
 * `pulsar-ami build` end to end: the built CLI → SigV4 → the sandbox's API → the start-build
 * Lambda (the version checked against the sandbox's artifact store) → the sandbox's Step
 * Functions running statemachines/build-ami → CodeBuild running buildspec/build-ami.yml with
 * the Packer stand-in building from the project's template and scripts → ValidateAmi on the
 * new image → publishing. A build prints an AMI id that `latest` then returns; a failing
 * build, a tampered archive and a failing validation each exit 1 with the reason and leave
 * no new AMI and no instance; bad input is exit 2 (or a 400) with no AWS call.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type E2e, startE2e } from '../support/e2e';
import { signedRequest, waitFor } from '../support/sandbox-clients';

let e2e: E2e;
let ec2: EC2Client;

const FAST = { PULSAR_AMI_POLL_INTERVAL_MS: '25' };
/** A whole build in the sandbox takes about a minute (Packer's provisioners run for real). */
const BUILD_TIMEOUT = 240_000;
const build = (args: string[]) => e2e.cli(['build', ...args], FAST);

beforeAll(async () => {
  e2e = await startE2e();
  ec2 = e2e.ec2;
});
afterAll(async () => {
  await e2e.close();
});
beforeEach(async () => {
  await e2e.reset();
});

/** This tool's images in us-west-2 (ids), as DescribeImages with Owners=self answers. */
async function ownImages(): Promise<string[]> {
  const page = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
  return (page.Images ?? []).map((i) => i.ImageId ?? '').sort();
}

async function instances() {
  const page = await ec2.send(new DescribeInstancesCommand({}));
  return (page.Reservations ?? []).flatMap((r) => r.Instances ?? []);
}

/** Every instance launched (the build's, the validation's) ends terminated. */
async function expectNoInstanceLeft() {
  await e2e.control('POST', 'executions/wait', { timeoutMs: 60_000 });
  await waitFor(instances, (list) => list.every((i) => i.State?.Name === 'terminated'), {
    timeoutMs: 10_000,
    what: 'every instance terminated',
  });
}

/** What the guide's scripts do: `grep "AMI ID:" | awk '{print $3}'`. */
const amiIdOf = (stdout: string): string[] =>
  stdout
    .split('\n')
    .filter((line) => line.includes('AMI ID:'))
    .map((line) => line.trim().split(/\s+/)[2] ?? '');

describe('pulsar-ami build on the sandbox', () => {
  it(
    'builds 3.0.0 (Packer, validation, publishing): one AMI ID line, the id latest then returns',
    async () => {
      const before = await ownImages();
      const r = await build(['--version', '3.0.0', '--force']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      const lines = r.stdout.split('\n');
      for (const line of [
        'Building Pulsar AMI',
        'Pulsar Version: 3.0.0',
        'Instance Type: t3.small',
        'Region: us-west-2',
        'Initializing Packer plugins...',
        '✓ Packer plugins initialized',
        'Starting Packer build (this will take 10-15 minutes)...',
        '✓ AMI built successfully!',
        '  Region: us-west-2',
      ]) {
        expect(lines, line).toContain(line);
      }
      // The guide's line once: the buildspec's log says `packer init` in its own words.
      expect(lines.filter((l) => l === 'Initializing Packer plugins...')).toHaveLength(1);
      expect(r.stdout).toMatch(/\n {2}Build time: \d+m \d+s\n/);
      expect(r.stdout).toContain('  ✓ AMI VALIDATION PASSED');
      const ids = amiIdOf(r.stdout);
      expect(ids).toHaveLength(1);
      const amiId = ids[0] ?? '';
      expect(amiId).toMatch(/^ami-[0-9a-f]{8,17}$/);
      expect(before).not.toContain(amiId);
      expect(await ownImages()).toContain(amiId);

      const latest = await e2e.cli(['latest']);
      expect(latest.code).toBe(0);
      expect(latest.stdout).toBe(`Latest AMI: ${amiId}\n`);
      await expectNoInstanceLeft();
    },
    BUILD_TIMEOUT,
  );

  it('already built: the existing AMI ID, exit 0, nothing started', async () => {
    const r = await build(['--version', '3.0.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/✓ AMI already built: pulsar-base-3\.0\.0-\d+, validated/);
    expect(amiIdOf(r.stdout)).toHaveLength(1);
    const calls = await e2e.calls();
    expect(calls.filter((c) => c.service === 'sfn' && c.action === 'StartExecution')).toEqual([]);
    expect(calls.filter((c) => c.service === 'codebuild')).toEqual([]);
  });

  it('--dry-run: the plan, nothing started', async () => {
    const r = await e2e.cli(['--dry-run', 'build', '--version', '2.11.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('[DRY RUN] Pulsar 2.11.0 is in the archive');
    expect(r.stdout).toContain('✓ Dry run: nothing was started');
    const calls = await e2e.calls();
    expect(calls.filter((c) => c.service === 'sfn' && c.action === 'StartExecution')).toEqual([]);
  });

  it('a version the archive does not have: exit 1 with the reason, nothing started', async () => {
    const before = await ownImages();
    const r = await build(['--version', '9.9.9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Apache Pulsar 9\.9\.9 is not in the archive: .*9\.9\.9-bin\.tar\.gz\.sha512 answered 404/,
    );
    const calls = await e2e.calls();
    expect(calls.filter((c) => c.service === 'sfn')).toEqual([]);
    expect(await ownImages()).toEqual(before);
  });

  const failures: [string, Record<string, unknown>, RegExp, RegExp][] = [
    [
      'a failing build (buildFails)',
      { buildFails: true },
      /Build Image With Packer failed: .*BUILD/,
      /✗ Packer build failed/,
    ],
    [
      'a tampered archive (tamperedArchive)',
      { tamperedArchive: true },
      /Build Image With Packer failed: /,
      /sha512|checksum/i,
    ],
  ];
  it.each(failures)(
    '%s: exit 1 with the reason, no new AMI, no instance',
    async (_name, faults, reason, output) => {
      const before = await ownImages();
      await e2e.control('PUT', 'faults', faults);
      const r = await build(['--version', '3.0.0', '--force']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(reason);
      expect(`${r.stdout}\n${r.stderr}`).toMatch(output);
      expect(amiIdOf(r.stdout)).toEqual([]);
      await expectNoInstanceLeft();
      expect(await ownImages()).toEqual(before);
    },
    BUILD_TIMEOUT,
  );

  it(
    'a failing validation: exit 1 naming the failed check, the new AMI deleted, no instance',
    async () => {
      const before = await ownImages();
      // Instances launched now lack the benchmark: the build installs it, the test instance from the image lacks it.
      await e2e.control('PUT', 'faults', { imageMissing: { component: 'openmessaging-benchmark' } });
      const r = await build(['--version', '3.0.0', '--force', '--quiet']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/✗ Build failed: Validate AMI failed: .*OpenMessaging Benchmark installed/);
      expect(r.stdout).toContain("Deleting the failed build's AMI...");
      expect(amiIdOf(r.stdout)).toEqual([]);
      await expectNoInstanceLeft();
      expect(await ownImages()).toEqual(before);
    },
    BUILD_TIMEOUT,
  );
});

describe('bad input: exit 2, or a 400, with no AWS call', () => {
  it.each([
    [['--version', '3.0'], /--version must be MAJOR\.MINOR\.PATCH/],
    [['--version', '3.0.0', '--instance-type', 'huge'], /--instance-type must be an EC2 instance type/],
    [
      ['--version', '3.0.0', '--instance-type', 't4g.small'],
      /--instance-type t4g\.small is an arm64 instance type/,
    ],
    [['--version', '3.0.0', '--architecture', 'sparc'], /--architecture must be x86_64 or arm64/],
    [['--version', '3.0.0', '--copy-to-regions', 'us-weast-1'], /--copy-to-regions must be an AWS region/],
    [['--version', '3.0.0', '--copy-to-regions', 'us-west-2'], /us-west-2 is the region the build runs in/],
  ])('build %j → exit 2, nothing sent', async (args, message) => {
    const r = await build(args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(message);
    expect(await e2e.calls()).toEqual([]);
  });

  it.each([
    [{ version: '3.0' }, 'version'],
    [{ version: '3.0.0', instanceType: 'm7g.large' }, 'instanceType'],
    [{ version: '3.0.0', architecture: 'sparc' }, 'architecture'],
    [{ version: '3.0.0', copyToRegions: ['us-east-1', 'us-east-1'] }, 'copyToRegions.1'],
    [{ version: '3.0.0', colour: 'blue' }, 'colour'],
  ])('POST /builds %j → 400 on %s, no AWS call behind the API', async (body, field) => {
    const response = await signedRequest(e2e.url, 'POST', '/builds', body);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(((await response.json()) as { field: string }).field).toBe(field);
    expect((await e2e.calls()).filter((c) => c.service !== 'execute-api')).toEqual([]);
  });
});
