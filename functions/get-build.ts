/** GET /builds/{id} — where a build is: status, current step, CodeBuild phase, AMI, validation, error, timing. */

import { getBuild } from './lib/builds-status';
import { codebuild } from './lib/clients/codebuild';
import { sfn } from './lib/clients/sfn';
import { config } from './lib/config';
import { apiHandler, json, parseInput } from './lib/http';
import { buildIdSchema } from './lib/validation';
import * as z from './lib/zod';

const path = z.object({ id: buildIdSchema });

export const handler = apiHandler(async (event) => {
  const { id } = parseInput(path, event.pathParameters ?? {});
  return json(200, await getBuild({ sfn, codebuild }, config, id));
});
