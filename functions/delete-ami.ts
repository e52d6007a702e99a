/** DELETE /amis/{id}?keepSnapshots=&dryRun= — deregister an AMI and delete its snapshots. */

import { deleteAmi } from './lib/ami-deletion';
import { autoScaling } from './lib/clients/auto-scaling';
import { ec2 } from './lib/clients/ec2';
import { ssm } from './lib/clients/ssm';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { launchConfigurationLookup } from './lib/launch-configurations';
import { countMetric } from './lib/metrics';
import { amiIdSchema, booleanFlagSchema } from './lib/validation';
import * as z from './lib/zod';

const input = z.object({
  id: amiIdSchema,
  keepSnapshots: z._default(booleanFlagSchema, 'false'),
  dryRun: z._default(booleanFlagSchema, 'false'),
});

export const handler = apiHandler(async (event) => {
  const { id, keepSnapshots, dryRun } = parseInput(input, {
    ...event.queryStringParameters,
    id: event.pathParameters?.id,
  });
  const options = { keepSnapshots: keepSnapshots === 'true', dryRun: dryRun === 'true' };
  const settings = { ...config, versionParameterPrefix: config.build.versionParameterPrefix };
  const deleted = await deleteAmi(
    { ec2, ssm, launchConfigurations: launchConfigurationLookup(autoScaling) },
    settings,
    id,
    options,
  );
  if (deleted.deregistered && !deleted.dryRun) countMetric('AmisDeleted', 1, { Path: 'api' });
  return json(200, deleted);
});
