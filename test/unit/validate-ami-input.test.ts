import { describe, expect, it } from 'vitest';
import { CHECK_NAMES, checkCommands, readCheckScript } from '../../functions/lib/checks';
import { loadConfig } from '../../functions/lib/config';
import {
  buildValidateAmiInput,
  POLL_BUDGET_SECONDS,
  VALIDATE_AMI_TIMEOUT_SECONDS,
} from '../../functions/lib/validate-ami-input';

const request = { imageId: 'ami-0a1b2c3d4e5f67890', instanceType: 't3.micro', expectedVersion: '3.0.0' };

describe('buildValidateAmiInput', () => {
  it('fills the execution input from config defaults and the check script', () => {
    const config = loadConfig({ STAGE: 'dev' });
    const input = buildValidateAmiInput(request, config.validation, readCheckScript());
    expect(input).toMatchObject({
      imageId: request.imageId,
      instanceType: 't3.micro',
      instanceProfileName: 'pulsar-ami-dev-validation',
      subnetId: null,
      maxLifetimeMinutes: 90,
      expectedVersion: '3.0.0',
      evaluateFunction: 'pulsar-ami-dev-evaluateCheckResults',
      polling: { intervalSeconds: 10, maxInstanceChecks: 30, maxAgentChecks: 60, maxCommandChecks: 90 },
    });
    expect(input.checks.names).toEqual([...CHECK_NAMES]);
    expect(input.checks.commands).toEqual(checkCommands(readCheckScript(), '3.0.0'));
  });

  it('keeps the polling budgets inside the machine timeout whatever the interval', () => {
    const total = POLL_BUDGET_SECONDS.instance + POLL_BUDGET_SECONDS.agent + POLL_BUDGET_SECONDS.command;
    expect(total).toBeLessThan(VALIDATE_AMI_TIMEOUT_SECONDS);
    for (const interval of [5, 7, 30, 60]) {
      const config = loadConfig({ VALIDATION_POLL_INTERVAL_SECONDS: String(interval) });
      const { polling } = buildValidateAmiInput(request, config.validation, 'true');
      const worst =
        (polling.maxInstanceChecks + polling.maxAgentChecks + polling.maxCommandChecks) *
        Math.max(1, interval);
      expect(worst).toBeLessThanOrEqual(total + 3 * interval);
    }
  });

  it('refuses a poll interval under 5 seconds, and takes any well-formed region Lambda gives it', () => {
    expect(() => loadConfig({ VALIDATION_POLL_INTERVAL_SECONDS: '0' })).toThrow(
      /VALIDATION_POLL_INTERVAL_SECONDS/,
    );
    expect(loadConfig({ AWS_REGION: 'ap-southeast-9' }).region).toBe('ap-southeast-9');
    expect(() => loadConfig({ AWS_REGION: 'not a region' })).toThrow(/AWS_REGION must be an AWS region/);
  });

  it('takes subnet, profile and lifetime from config', () => {
    const config = loadConfig({
      VALIDATION_SUBNET_ID: 'subnet-0123456789abcdef0',
      VALIDATION_INSTANCE_PROFILE: 'custom-profile',
      VALIDATION_MAX_LIFETIME_MINUTES: '120',
    });
    const input = buildValidateAmiInput(request, config.validation, 'true');
    expect(input).toMatchObject({
      subnetId: 'subnet-0123456789abcdef0',
      instanceProfileName: 'custom-profile',
      maxLifetimeMinutes: 120,
    });
  });

  it('refuses a malformed AMI id or version before anything starts', () => {
    const config = loadConfig({});
    expect(() =>
      buildValidateAmiInput({ ...request, imageId: 'ami-xyz' }, config.validation, 'true'),
    ).toThrow();
    expect(() =>
      buildValidateAmiInput({ ...request, expectedVersion: '3.0' }, config.validation, 'true'),
    ).toThrow();
  });
});
