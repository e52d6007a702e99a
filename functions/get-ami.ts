/** GET /amis/{id} — one of this tool's AMIs. */

import { getAmi } from './lib/ami-catalogue';
import { ec2 } from './lib/clients/ec2';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { amiIdSchema } from './lib/validation';
import * as z from './lib/zod';

const path = z.object({ id: amiIdSchema });

export const handler = apiHandler(async (event) => {
  const { id } = parseInput(path, event.pathParameters ?? {});
  return json(200, await getAmi(ec2, id, config.region));
});
