/** Scheduled: terminates validation test instances and build instances that have outlived their maximum lifetime. */
import { ec2 } from './lib/clients/ec2';
import { config } from './lib/config';
import { logger } from './lib/logger';
import { countMetric } from './lib/metrics';
import { type SweepResult, sweepValidationInstances } from './lib/validation-instances';

export async function handler(): Promise<SweepResult> {
  const result = await sweepValidationInstances(ec2, {
    now: new Date(),
    maxLifetimeMinutes: config.validation.maxLifetimeMinutes,
    buildMaxLifetimeMinutes: config.build.maxLifetimeMinutes,
  });
  logger.info('Validation and build instances swept', {
    inspected: result.inspected,
    terminated: result.terminated,
  });
  countMetric('InstancesTerminated', result.terminated.length, { Guard: 'sweeper' });
  return result;
}
