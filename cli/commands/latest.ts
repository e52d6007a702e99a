/**
 * `latest`: the id of the published latest Pulsar AMI (the SSM parameter set when a validated
 * AMI is published), else — nothing published — the newest available one; exit 1 when there is none.
 */
import type { LatestAmiResponse } from '../../functions/lib/api-types';
import type { ApiError } from '../api/client';
import type { CommandModule } from '../command';
import { CliError } from '../errors';

const isNotFound = (error: unknown): error is ApiError =>
  error instanceof CliError &&
  error.name === 'ApiError' &&
  (error as ApiError).status === 404 &&
  (error as ApiError).isProblem;

export const latest: CommandModule = {
  name: 'latest',
  summary: 'Display the ID of the latest Pulsar AMI (the published one, else the newest available)',
  configure(command) {
    command.option('--no-cache', 'Skip cache and ask the API');
  },
  async run(ctx, options) {
    const { printer, cache } = ctx;
    const hit = options.cache === false ? undefined : cache.readLatest();
    let answer: LatestAmiResponse;
    if (hit) {
      printer.debug(`cache: latest answered from cache (age ${Math.floor(hit.ageMs / 1000)}s)`);
      answer = hit.value;
    } else {
      const api = await ctx.api();
      try {
        answer = await api.latest();
      } catch (error) {
        if (isNotFound(error)) {
          throw new CliError(
            `No Pulsar AMIs found in ${ctx.region}`,
            { ...error.problem, region: ctx.region },
            { bare: true },
          );
        }
        throw error;
      }
      cache.writeLatest(answer);
    }
    if (printer.options.json) {
      printer.json({ region: ctx.region, cached: hit !== undefined, ...answer });
    } else {
      printer.line(`Latest AMI: ${answer.imageId}`);
    }
    return 0;
  },
};
