/**
 * `latest`: the latest validated Pulsar AMI by the latest rule — the published one while it
 * qualifies, else the highest validated version; `--include-unvalidated` lets unvalidated AMIs
 * in. Exit 1 when none qualifies. Whatever the API answered, found or not found, is what the
 * cache holds (for a minute), so a plain `latest` never repeats an answer the API has replaced.
 */
import type { ApiError } from '../api/client';
import type { LatestAnswer, LatestVariant } from '../cache';
import type { CommandModule } from '../command';
import { CliError } from '../errors';

const isNotFound = (error: unknown): error is ApiError =>
  error instanceof CliError &&
  error.name === 'ApiError' &&
  (error as ApiError).status === 404 &&
  (error as ApiError).isProblem;

export const latest: CommandModule = {
  name: 'latest',
  summary: 'Display the ID of the latest validated Pulsar AMI (published, else highest version)',
  configure(command) {
    command.option('--no-cache', 'Skip cache and ask the API');
    command.option('--include-unvalidated', 'Consider AMIs that have not passed validation too');
  },
  async run(ctx, options) {
    const { printer, cache } = ctx;
    const includeUnvalidated = options.includeUnvalidated === true;
    const variant: LatestVariant = includeUnvalidated ? 'any' : 'validated';
    const hit = options.cache === false ? undefined : cache.readLatest(variant);
    let answer: LatestAnswer;
    if (hit) {
      printer.debug(`cache: latest answered from cache (age ${Math.floor(hit.ageMs / 1000)}s)`);
      answer = hit.value;
    } else {
      const api = await ctx.api();
      try {
        answer = { found: await api.latest({ includeUnvalidated }) };
      } catch (error) {
        if (!isNotFound(error)) throw error;
        const kind = includeUnvalidated ? 'Pulsar AMI' : 'validated Pulsar AMI';
        answer = { notFound: `No ${kind} found in ${ctx.region}` };
        cache.writeLatest(variant, answer);
        throw new CliError(answer.notFound, { ...error.problem, region: ctx.region }, { bare: true });
      }
      cache.writeLatest(variant, answer);
    }
    if ('notFound' in answer) {
      throw new CliError(answer.notFound, { region: ctx.region, cached: true }, { bare: true });
    }
    if (printer.options.json) {
      printer.json({ region: ctx.region, cached: hit !== undefined, ...answer.found });
    } else {
      printer.line(`Latest AMI: ${answer.found.imageId}`);
    }
    return 0;
  },
};
