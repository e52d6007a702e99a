/**
 * Cleanup and restore end to end: the real CLI binary → SigV4 → the sandbox's API Gateway → the
 * project's handlers → the real SDK → the sandbox's EC2, SSM and Step Functions (CleanupAmis, the
 * project's own ASL). The dry run prints the plan and makes no mutating call (the sandbox's call
 * record: only Describe/Get/List); bad flags are exit 2 with no call at all; `--apply` retires
 * exactly what the plan said; `restore` undoes a disable and a deprecation.
 */
import {
  DescribeImagesCommand,
  DisableImageCommand,
  type EC2Client,
  EnableImageDeprecationCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CleanupPlan, CleanupResponse } from '../../functions/lib/api-types';
import { type E2e, startE2e } from '../support/e2e';
import { sandboxImageId, signedRequest } from '../support/sandbox-clients';

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
});

/** AWS calls (not the API's own requests) the sandbox saw. */
const awsCalls = async () => (await e2e.calls()).filter((c) => c.service !== 'execute-api');

/** The image as EC2 describes it, or undefined once it is deregistered. */
async function image(imageId: string) {
  try {
    const page = await ec2.send(
      new DescribeImagesCommand({ ImageIds: [imageId], Owners: ['self'], IncludeDisabled: true }),
    );
    return page.Images?.[0];
  } catch (error) {
    if ((error as Error).name === 'InvalidAMIID.NotFound') return undefined;
    throw error;
  }
}

async function plan(args: string[] = []): Promise<CleanupPlan> {
  const r = await e2e.cli(['cleanup', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as CleanupPlan;
}

describe('cleanup (dry run)', () => {
  it('prints the plan as a table and the totals, says nothing changed, and makes no mutating AWS call', async () => {
    const r = await e2e.cli(['cleanup', '--keep', '1']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Cleanup plan for us-west-2: keep the newest 1 of each architecture');
    expect(lines[2]).toMatch(/^AMI ID\s+Version\s+Created\s+Action\s+Reason\s+GiB$/);
    expect(r.stdout).toMatch(/^Images: \d+ — keep \d+, deprecate \d+, disable \d+, delete \d+$/m);
    expect(r.stdout).toMatch(/^Orphaned snapshots to delete: \d+$/m);
    expect(r.stdout).toMatch(
      /^Reclaimed: [\d.]+ GiB, saving \$\d+\.\d\d a month \(at \$0\.05 per GB-month\)$/m,
    );
    expect(lines.at(-1)).toBe(
      'Dry run: nothing was changed. Re-run with --apply to retire them: pulsar-ami cleanup --keep 1 --apply',
    );
    // The seeded account: 3.0.0 (validated, published), 2.11.0, 2.10.0 and a legacy 2.9.0 are this tool's.
    const rows = lines.filter((l) => /^ami-/.test(l));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^ami-\w+\s+3\.0\.0\s+2025-06-15 10:30\s+keep\s+/);
    expect(r.stdout).not.toContain('ubuntu');

    const calls = await awsCalls();
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(`${call.service}:${call.action}`).toMatch(/:(Describe|Get|List)\w*$/);
    expect(await e2e.changes()).toEqual([]);
  });

  it('--json: the plan, each image once, newest first, with its action and reason', async () => {
    const p = await plan(['--keep', '2']);
    expect(p.settings.keep).toBe(2);
    expect(p.decisions.map((d) => d.version)).toEqual(['3.0.0', '2.11.0', '2.10.0', '2.9.0']);
    for (const d of p.decisions) {
      expect(['keep', 'deprecate', 'disable', 'delete']).toContain(d.action);
      expect(d.reason).not.toBe('');
      expect(d.reasons[0]).toBe(d.reason);
    }
    expect(p.decisions[0]?.action).toBe('keep');
    expect(p.totals.images).toBe(4);
    expect(p.totals.keep + p.totals.deprecate + p.totals.disable + p.totals.delete).toBe(4);
    expect(await e2e.changes()).toEqual([]);
  });

  it.each([['0'], ['101'], ['three'], ['2.5']])(
    '--keep %s: exit 2, one message, and the sandbox sees no call at all',
    async (keep) => {
      const r = await e2e.cli(['cleanup', '--keep', keep, '--apply']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `pulsar-ami: --keep must be a whole number from 1 to 100, got '${keep}'\nRun 'pulsar-ami --help' for usage.\n`,
      );
      expect(await e2e.calls()).toEqual([]);
    },
  );

  it('behind the API, a bad body is a 400 naming the field, with no AWS call', async () => {
    const response = await signedRequest(e2e.url, 'POST', '/cleanups', { keep: 0, apply: true });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      field: 'keep',
      detail: 'keep must be a whole number from 1 to 100, got 0',
    });
    expect(await awsCalls()).toEqual([]);
  });
});

describe('cleanup --apply (CleanupAmis)', () => {
  it('retires exactly what the plan said, tells each AMI as it goes, and keeps the rest', async () => {
    const p = await plan(['--keep', '1']);
    const retire = p.decisions.filter((d) => d.action !== 'keep');
    const kept = p.decisions.filter((d) => d.action === 'keep');
    expect(retire.length).toBeGreaterThan(0);

    const r = await e2e.cli(['cleanup', '--keep', '1', '--apply'], { PULSAR_AMI_POLL_INTERVAL_MS: '50' });
    expect(r.code, r.stderr).toBe(0);
    const id = /^Cleanup: (\S+)$/m.exec(r.stdout)?.[1] ?? '';
    expect(id).toMatch(/^cleanup-/);
    for (const d of retire) expect(r.stdout).toContain(`Retired ${d.imageId} (${d.action}): done\n`);
    expect(r.stdout).toMatch(/^✓ Cleanup complete: \d+ retired, 0 skipped, 0 failed/m);

    for (const d of kept) expect((await image(d.imageId))?.State).toBe(d.state);
    for (const d of retire.filter((x) => x.action === 'delete'))
      expect(await image(d.imageId)).toBeUndefined();

    const followed = await e2e.cli(['cleanup', '--follow', id, '--json']);
    expect(followed.code).toBe(0);
    const answer = JSON.parse(followed.stdout) as CleanupResponse;
    expect(answer).toMatchObject({ cleanupId: id, status: 'SUCCEEDED', source: 'api', keep: 1 });
    expect(answer.progress).toEqual({ total: retire.length, done: retire.length, failed: 0 });
  });
});

describe('restore', () => {
  it('re-enables a disabled, deprecated AMI of this tool and cancels its deprecation', async () => {
    const p = await plan();
    const target = p.decisions.find((d) => d.version === '2.10.0')?.imageId ?? '';
    await ec2.send(
      new EnableImageDeprecationCommand({ ImageId: target, DeprecateAt: new Date(Date.now() + 86_400_000) }),
    );
    await ec2.send(new DisableImageCommand({ ImageId: target }));
    expect((await image(target))?.State).toBe('disabled');

    const r = await e2e.cli(['restore', '--ami-id', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('  Re-enabling AMI... ✓\n  Cancelling deprecation... ✓\n');
    expect(r.stdout).toContain(`✓ AMI restored: ${target} is available\n`);
    const after = await image(target);
    expect(after?.State).toBe('available');
    expect(after?.DeprecationTime).toBeUndefined();

    const again = await e2e.cli(['restore', '--ami-id', target]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`✓ Nothing to restore: ${target} is available and not deprecated\n`);
  });

  it('another tool’s image: exit 1 like delete, nothing changed', async () => {
    const foreign = await sandboxImageId(e2e.url, 'ubuntu-jammy-custom');
    await e2e.control('DELETE', 'calls');
    const r = await e2e.cli(['restore', '--ami-id', foreign]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: AMI ami-\w+ is not a pulsar-ami image/);
    for (const call of await awsCalls()) expect(call.action).toMatch(/^(Describe|Get|List)/);
  });

  it('an unknown AMI: exit 1, not found; a malformed id: exit 2 and no call', async () => {
    const r = await e2e.cli(['restore', '--ami-id', 'ami-0000000000000dead']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: AMI ami-0000000000000dead was not found in us-west-2 (or is not owned by this account)\n',
    );
    await e2e.control('DELETE', 'calls');
    const bad = await e2e.cli(['restore', '--ami-id', 'ami-xyz']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^pulsar-ami: --ami-id must look like ami-0123456789abcdef0/);
    expect(await e2e.calls()).toEqual([]);
  });
});
