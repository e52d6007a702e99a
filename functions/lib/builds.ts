/**
 * Builds are BuildAmi executions: the build id is the execution name (`build-…`), so a build is
 * found again from its id alone. The request (`POST /builds`), its rules, the execution input
 * the machine gets (the contract's shape, nothing executable in it), ids and locations. No client.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from './config';
import { BuildNotConfiguredError } from './errors';
import { AWS_REGIONS } from './regions';
import { uuidV5 } from './uuid';
import {
  type Architecture,
  architectureOfInstanceType,
  architectureSchema,
  BUILD_ID_PATTERN,
  instanceTypeSchema,
  regionSchema,
  versionSchema,
} from './validation';
import * as z from './zod';

export { BUILD_ID_PATTERN };

export const DEFAULT_BUILD_INSTANCE_TYPE = 't3.small';
export const DEFAULT_ARCHITECTURE: Architecture = 'x86_64';

/** The fields of a `POST /builds` body; any other is a 400 naming it. */
export const BUILD_BODY_FIELDS = [
  'version',
  'instanceType',
  'architecture',
  'force',
  'copyToRegions',
  'dryRun',
] as const;

const strictBoolean = () =>
  z.boolean({ error: (issue) => `must be true or false, got ${JSON.stringify(issue.input)?.slice(0, 40)}` });

/**
 * The request's rules, before any AWS call: the version's form, an instance type's form and
 * (by its name) architecture, the regions to copy to (known, distinct, not the home region).
 */
export function buildRequestSchema(homeRegion: string) {
  return z
    .object({
      version: versionSchema,
      instanceType: z._default(instanceTypeSchema, DEFAULT_BUILD_INSTANCE_TYPE),
      architecture: z._default(architectureSchema, DEFAULT_ARCHITECTURE),
      force: z._default(strictBoolean(), false),
      copyToRegions: z._default(
        z
          .array(regionSchema, {
            error: (issue) =>
              `must be a list of regions such as ["us-east-1"], got ${JSON.stringify(issue.input)?.slice(0, 40)}`,
          })
          .check(z.maxLength(AWS_REGIONS.length)),
        [],
      ),
      dryRun: z._default(strictBoolean(), false),
    })
    .check(
      z.superRefine((request, ctx) => {
        const named = architectureOfInstanceType(request.instanceType);
        if (named !== null && named !== request.architecture) {
          ctx.addIssue({
            code: 'custom',
            path: ['instanceType'],
            message: `${request.instanceType} is an ${named} instance type, but the build is for ${request.architecture} (build for ${named}, or pick an ${request.architecture} type such as ${request.architecture === 'arm64' ? 't4g.small' : DEFAULT_BUILD_INSTANCE_TYPE})`,
          });
        }
        const seen = new Set<string>();
        for (const [i, region] of request.copyToRegions.entries()) {
          if (region === homeRegion) {
            ctx.addIssue({
              code: 'custom',
              path: ['copyToRegions', i],
              message: `${region} is the region the build runs in; the AMI is there already`,
            });
          } else if (seen.has(region)) {
            ctx.addIssue({
              code: 'custom',
              path: ['copyToRegions', i],
              message: `${region} is listed twice`,
            });
          }
          seen.add(region);
        }
      }),
    );
}

export type BuildRequest = Omit<z.infer<ReturnType<typeof buildRequestSchema>>, 'dryRun'>;

/** The BuildAmi execution input: exactly the contract's shape (statemachines/build-ami.asl.yml reads it). */
export const buildAmiInputSchema = z.strictObject({
  buildId: z.string().check(z.regex(BUILD_ID_PATTERN)),
  version: versionSchema,
  instanceType: instanceTypeSchema,
  architecture: architectureSchema,
  force: z.boolean(),
  copyToRegions: z.array(regionSchema),
});

export type BuildAmiInput = z.infer<typeof buildAmiInputSchema>;

export function buildAmiInput(buildId: string, request: BuildRequest): BuildAmiInput {
  return buildAmiInputSchema.parse({
    buildId,
    version: request.version,
    instanceType: request.instanceType,
    architecture: request.architecture,
    force: request.force,
    // A set: the order regions are named in does not make another build.
    copyToRegions: [...request.copyToRegions].sort(),
  });
}

/** Whether an execution's input asks for the same build as `request` (everything but the id). */
export function sameBuild(previous: Record<string, unknown> | undefined, request: BuildRequest): boolean {
  if (!previous) return false;
  const regions = Array.isArray(previous.copyToRegions) ? [...previous.copyToRegions].map(String).sort() : [];
  return (
    previous.version === request.version &&
    previous.instanceType === request.instanceType &&
    previous.architecture === request.architecture &&
    (previous.force === true) === request.force &&
    JSON.stringify(regions) === JSON.stringify([...request.copyToRegions].sort())
  );
}

/** UUID v5 namespace of build ids derived from an Idempotency-Key. */
const IDEMPOTENCY_NAMESPACE = 'b5e0c2a4-8d1f-4e57-9b36-0f7a2c9d4e18';

/**
 * The build id, which is the execution name: `build-` and a UUID (42 characters, within the
 * contract's 64). The same Idempotency-Key always gives the same id, whatever the request, so
 * a key reused for another request is found and refused.
 */
/** The build id an Idempotency-Key names (a random one without a key). */
export function buildIdFor(idempotencyKey?: string): string {
  return `build-${idempotencyKey === undefined ? randomUUID() : uuidV5(idempotencyKey, IDEMPOTENCY_NAMESPACE)}`;
}

export function buildLocation(buildId: string): string {
  return `/builds/${buildId}`;
}

export function buildMachineArn(config: Pick<Config, 'build'>): string {
  if (!config.build.stateMachineArn) throw new BuildNotConfiguredError();
  return config.build.stateMachineArn;
}

/** The CodeBuild project's log group; each build logs to the stream named by its id's uuid. */
export function buildLogGroup(config: Pick<Config, 'build'>): string {
  return `/aws/codebuild/${config.build.codeBuildProject}`;
}

/** `project:uuid` → `uuid`, the build's log stream. */
export function logStreamOf(codeBuildId: string): string {
  return codeBuildId.slice(codeBuildId.lastIndexOf(':') + 1);
}

/** CodeBuild build ids: `<project>:<uuid>`. */
export const CODEBUILD_ID_PATTERN =
  /^[A-Za-z0-9][A-Za-z0-9_-]{1,254}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
