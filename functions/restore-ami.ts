/** POST /amis/{id}/restore — re-enable a disabled AMI and cancel its deprecation (what a cleanup's stages did). */

import { restoreAmi } from './lib/ami-restore';
import { ec2 } from './lib/clients/ec2';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { amiIdSchema } from './lib/validation';
import * as z from './lib/zod';

const path = z.object({ id: amiIdSchema });

export const handler = apiHandler(async (event) => {
  const { id } = parseInput(path, event.pathParameters ?? {});
  return json(200, await restoreAmi({ ec2 }, id, config.region));
});
