/**
 * scripts/esbuild/plugins.cjs: the SDK's schema modules made tree-shakeable without changing
 * a byte on the wire. The same EC2 calls are bundled with and without the plugin, and both
 * bundles must send the same request bodies and parse the same response, while the plugin's
 * bundle drops the schemas no command uses.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions } from '../../bench/lambda-bundles';

const require = createRequire(import.meta.url);
const plugins = require('../../scripts/esbuild/plugins.cjs') as Plugin[] & {
  literalKeys: (source: string) => string;
};

describe('literalKeys', () => {
  it('makes computed keys that name string constants literal, and leaves everything else', () => {
    const source = [
      'const _xN = "xmlName";',
      'const _q = "a \\"quoted\\" key";',
      'let notConstant = "x";',
      'export var A$ = [3, n0, _A, 0, [_xN, _q], [[() => L, { [_xN]: _E, [_q]: 1 }], { [notConstant]: 2, [_missing]: 3 }]];',
    ].join('\n');
    expect(plugins.literalKeys(source).split('\n')[3]).toBe(
      'export var A$ = [3, n0, _A, 0, [_xN, _q], [[() => L, { "xmlName": _E, "a \\"quoted\\" key": 1 }], { [notConstant]: 2, [_missing]: 3 }]];',
    );
  });
});

describe('bundles with the plugin', () => {
  let dir = '';
  const bundles: Record<'plain' | 'plugin', { bytes: number; exercise: () => Promise<unknown> }> =
    {} as never;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pulsar-ami-esbuild-plugins-'));
    for (const [name, list] of [
      ['plain', []],
      ['plugin', plugins],
    ] as const) {
      const outfile = join(dir, `${name}.js`);
      const { metafile } = await build({
        ...bundleOptions(),
        plugins: [...list],
        entryPoints: ['test/fixtures/ec2-wire.ts'],
        outfile,
      });
      const bytes = Object.values(metafile?.outputs ?? {}).reduce((sum, o) => sum + o.bytes, 0);
      bundles[name] = {
        bytes,
        exercise: (require(outfile) as { exercise: () => Promise<unknown> }).exercise,
      };
    }
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serializes and parses EC2 exactly as the untouched SDK does', async () => {
    const plain = (await bundles.plain.exercise()) as { bodies: string[] };
    const rewritten = await bundles.plugin.exercise();
    expect(plain.bodies).toHaveLength(3);
    // xmlName and query-name traits at work: without them these would read differently.
    expect(plain.bodies[0]).toContain('Owner.1=self');
    expect(plain.bodies[0]).toContain('Filter.1.Value.2=other');
    expect(plain.bodies[1]).toContain('SecurityGroupId.2=sg-2');
    expect(plain.bodies[1]).toContain('TagSpecification.1.Tag.1.Key=Purpose');
    expect(rewritten).toEqual(plain);
  });

  it('leaves out the schemas no command uses (most of the EC2 client)', () => {
    expect(bundles.plugin.bytes).toBeLessThan(bundles.plain.bytes - 400 * 1024);
  });
});
