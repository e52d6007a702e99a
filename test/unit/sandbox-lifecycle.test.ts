/** Pure parts of the sandbox's instance simulation: user-data shutdowns, the time scale, fault scopes. */
import { describe, expect, it } from 'vitest';
import { shutdownMinutes } from '../../sandbox/ec2/models/lifecycle';
import { Faults } from '../../sandbox/faults';
import { DEFAULT_TIME_SCALE, resolveTimeScale, Timeline } from '../../sandbox/timeline';

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('shutdownMinutes', () => {
  it.each([
    ['#!/bin/bash\nshutdown -h +90\n', 90],
    ['#!/bin/bash\nsudo /sbin/shutdown -P 30\n', 30],
    ['#!/bin/bash\nshutdown now\n', 0],
    ['#!/bin/bash\necho hi; shutdown +5 "bye"\n', 5],
    ['#!/bin/bash\nshutdown\n', 1],
  ])('%j → %d', (script, minutes) => expect(shutdownMinutes(b64(script))).toBe(minutes));

  it.each(['#!/bin/bash\necho hello\n', '#!/bin/bash\nshutdown -r +5\n', ''])('%j → none', (script) =>
    expect(shutdownMinutes(b64(script))).toBeUndefined(),
  );
});

describe('time scale', () => {
  it('takes the option, else the environment, else the default; refuses nonsense', () => {
    expect(resolveTimeScale(undefined, {})).toBe(DEFAULT_TIME_SCALE);
    expect(resolveTimeScale(undefined, { PULSAR_AMI_SANDBOX_TIME_SCALE: '0.01' })).toBe(0.01);
    expect(resolveTimeScale(1, { PULSAR_AMI_SANDBOX_TIME_SCALE: '0.01' })).toBe(1);
    expect(() => resolveTimeScale(0, {})).toThrow(/positive/);
    expect(() => resolveTimeScale(undefined, { PULSAR_AMI_SANDBOX_TIME_SCALE: 'fast' })).toThrow(/positive/);
    expect(new Timeline(0.005).ms(30)).toBe(150);
  });

  it('clears its timers', () => {
    const timeline = new Timeline(1);
    let fired = false;
    timeline.after(10, () => {
      fired = true;
    });
    expect(timeline.pending).toBe(1);
    timeline.clear();
    expect(timeline.pending).toBe(0);
    expect(fired).toBe(false);
  });
});

describe('fault scopes and counters', () => {
  it('scopes image faults by image id; false is off', () => {
    const faults = new Faults();
    faults.set({ ssmOffline: { imageId: 'ami-1' }, neverRunning: false, commandHangs: true });
    expect(faults.ssmOffline('ami-1')).toBe(true);
    expect(faults.ssmOffline('ami-2')).toBe(false);
    expect(faults.neverRunning('ami-1')).toBe(false);
    expect(faults.commandHangs('ami-9')).toBe(true);
    faults.set({ imageMissing: { component: 'java', components: ['pulsar-binaries'] } });
    expect(faults.missingComponents('ami-3').sort()).toEqual(['java', 'pulsar-binaries']);
  });

  it('counts terminateFails and noCapacity down', () => {
    const faults = new Faults();
    faults.set({ terminateFails: { times: 2, code: 'InternalError' }, noCapacity: { times: 1 } });
    expect(faults.takeTerminateFailure()).toBe('InternalError');
    expect(faults.takeTerminateFailure()).toBe('InternalError');
    expect(faults.takeTerminateFailure()).toBeUndefined();
    expect(faults.takeNoCapacity()).toBe(true);
    expect(faults.takeNoCapacity()).toBe(false);
    expect(faults.get()).toEqual({});
  });
});

describe('instance type architectures', () => {
  it('reads arm64 from the Graviton families, and x86_64 from the rest', async () => {
    const { architectureOf } = await import('../../sandbox/ec2/models/instance-types');
    const expected: Record<string, string> = {
      't3.micro': 'x86_64',
      't4g.micro': 'arm64',
      'c7gn.large': 'arm64',
      'm7gd.xlarge': 'arm64',
      'is4gen.large': 'arm64',
      'a1.large': 'arm64',
      'g4dn.xlarge': 'x86_64',
      'g5g.xlarge': 'arm64',
      'gr6.4xlarge': 'x86_64',
      'm7i-flex.large': 'x86_64',
      'mac2.metal': 'arm64_mac',
      'mac1.metal': 'x86_64_mac',
    };
    for (const [type, arch] of Object.entries(expected))
      expect([type, architectureOf(type)]).toEqual([type, arch]);
  });
});
