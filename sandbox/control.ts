/**
 * The unsigned control interface under `/_sandbox/` (see README.md): health, reset, seeding
 * images and instances, faults, the calls log and a state dump.
 */
import { z } from 'zod';
import { amiIdSchema, instanceTypeSchema, regionSchema, versionSchema } from '../functions/lib/validation';
import type { CallLog } from './calls';
import { AwsError } from './errors/aws-error';
import { BadRequest } from './errors/common';
import { createImage, createImageBatch, launchInstance, SEEDABLE_IMAGE_STATES } from './factory';
import type { Faults } from './faults';
import { IMAGE_COMPONENTS } from './instance-root';
import type { World } from './world';

export interface ControlRuntime {
  world: World;
  faults: Faults;
  calls: CallLog;
  /** Region used when a request names none (the API region). */
  defaultRegion: string;
  reset(seed: boolean): void;
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

/** EC2's own limits: at most 50 tags, keys up to 128 characters, values up to 256. */
const tags = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags');

/*
 * Every value that can reach a path or a name on disk (versions become file names in an
 * instance's root) or a lookup is checked with the product's own patterns.
 */
const imageSpec = z.strictObject({
  name: z.string().min(1).max(128),
  version: z.optional(versionSchema),
  state: z.enum(SEEDABLE_IMAGE_STATES).optional(),
  createdAt: z.iso.datetime({ offset: true }).optional(),
  tags: tags.optional(),
  owner: z.union([z.literal('self'), z.literal('amazon'), z.string().regex(/^\d{12}$/)]).optional(),
  snapshots: z.number().int().min(0).max(16).optional(),
  deregistrationProtection: z
    .union([
      z.boolean(),
      z.enum(['enabled', 'enabled-with-cooldown']),
      z.strictObject({ disabledUntil: z.iso.datetime({ offset: true }) }),
    ])
    .optional(),
  managed: z.boolean().optional(),
  architecture: z.enum(['x86_64', 'arm64']).optional(),
  description: z.string().max(255).optional(),
  contents: z
    .strictObject({
      kind: z.enum(['pulsar', 'plain']).optional(),
      pulsarVersion: z.optional(versionSchema),
      javaMajor: z.number().int().min(0).max(99).optional(),
      missing: z.array(z.enum(IMAGE_COMPONENTS)).optional(),
    })
    .optional(),
});

const imagesBody = z
  .strictObject({
    region: z.optional(regionSchema),
    images: z.array(imageSpec).optional(),
    count: z.number().int().min(1).max(100_000).optional(),
  })
  .refine((b) => b.count !== undefined || (b.images?.length ?? 0) > 0, 'images or count is required');

const batchTemplate = imageSpec.partial();

const instanceBody = z.strictObject({
  region: z.optional(regionSchema),
  imageId: amiIdSchema,
  state: z.enum(['pending', 'running', 'stopped', 'terminated']).optional(),
  instanceType: z.optional(instanceTypeSchema),
  tags: tags.optional(),
  userData: z.string().max(16_384).optional(),
  shutdownBehavior: z.enum(['stop', 'terminate']).optional(),
  ssmAgent: z.boolean().optional(),
  launchedMinutesAgo: z.number().int().min(0).max(525_600).optional(),
});

const imageScope = z.union([z.boolean(), z.strictObject({ imageId: z.optional(amiIdSchema) })]);

const faultsBody = z
  .object({
    throttle: z
      .strictObject({
        service: z.string().min(1),
        actions: z.array(z.string()).optional(),
        times: z.number().int().min(1).optional(),
      })
      .optional(),
    imageMissing: z
      .strictObject({
        component: z.enum(IMAGE_COMPONENTS).optional(),
        components: z.array(z.enum(IMAGE_COMPONENTS)).optional(),
        imageId: z.optional(amiIdSchema),
      })
      .refine(
        (f) => f.component !== undefined || (f.components?.length ?? 0) > 0,
        'component or components is required',
      )
      .optional(),
    ssmOffline: imageScope.optional(),
    noCapacity: z
      .union([z.boolean(), z.strictObject({ times: z.number().int().min(1).optional() })])
      .optional(),
    commandHangs: imageScope.optional(),
    terminateFails: z
      .strictObject({
        times: z.number().int().min(1),
        code: z.enum(['RequestLimitExceeded', 'InternalError']).optional(),
      })
      .optional(),
    neverRunning: imageScope.optional(),
    buildFails: z
      .union([
        z.boolean(),
        z.strictObject({
          projectName: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9\-_]{1,254}$/, 'must be a CodeBuild project name')
            .optional(),
          reason: z
            .string()
            .min(1)
            .max(1024)
            // biome-ignore lint/suspicious/noControlCharactersInRegex: one printable line for the log.
            .regex(/^[^\u0000-\u001f\u007f]+$/, 'must be one line of printable text')
            .optional(),
        }),
      ])
      .optional(),
    tamperedArchive: z
      .union([
        z.boolean(),
        z.strictObject({ version: z.optional(versionSchema), versions: z.array(versionSchema).optional() }),
      ])
      .optional(),
  })
  .loose();

const resetBody = z.strictObject({ seed: z.boolean().optional() });

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new BadRequest(message);
  }
  return parsed.data;
}

export function handleControl(
  method: string,
  path: string,
  body: unknown,
  rt: ControlRuntime,
): ControlResponse {
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'GET /_sandbox/health':
        return { status: 200, body: { ok: true } };
      case 'POST /_sandbox/reset': {
        const { seed } = parse(resetBody, body);
        rt.reset(seed ?? true);
        return { status: 200, body: { ok: true } };
      }
      case 'POST /_sandbox/images': {
        const input = parse(imagesBody, body);
        const region = input.region ?? rt.defaultRegion;
        const created =
          input.count !== undefined
            ? createImageBatch(rt.world, region, parse(batchTemplate, input.images?.[0] ?? {}), input.count)
            : (input.images ?? []).map((spec) => createImage(rt.world, region, spec));
        return { status: 200, body: { images: created } };
      }
      case 'POST /_sandbox/instances': {
        const input = parse(instanceBody, body);
        const instance = launchInstance(rt.world, input.region ?? rt.defaultRegion, {
          ...input,
          state: input.state ?? 'running',
          ssmAgent: input.ssmAgent ?? true,
        });
        return { status: 200, body: { instanceId: instance.instanceId } };
      }
      case 'GET /_sandbox/faults':
        return { status: 200, body: rt.faults.get() };
      case 'PUT /_sandbox/faults':
        rt.faults.set(parse(faultsBody, body));
        return { status: 200, body: rt.faults.get() };
      case 'DELETE /_sandbox/faults':
        rt.faults.clear();
        return { status: 200, body: {} };
      case 'GET /_sandbox/calls':
        return { status: 200, body: { calls: rt.calls.list() } };
      case 'DELETE /_sandbox/calls':
        rt.calls.clear();
        return { status: 200, body: { calls: [] } };
      case 'GET /_sandbox/state':
        return { status: 200, body: rt.world.dump() };
      default:
        return { status: 404, body: { error: `No control route ${route}` } };
    }
  } catch (error) {
    if (error instanceof AwsError) return { status: 400, body: { error: error.message, code: error.code } };
    throw error;
  }
}
