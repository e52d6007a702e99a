#!/usr/bin/env node
/**
 * Bundles the pulsar-ami CLI: cli/main.ts → dist/cli/pulsar-ami.mjs (+ chunks).
 * Code splitting puts the lazily imported API client, credential chain and CloudFormation
 * client in separate chunks, so a command answered from the cache loads only the entry.
 */
import { chmod, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');
const started = Date.now();

await rm(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { 'pulsar-ami': 'cli/main.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // The oldest Node of package.json's engines: the CLI runs on it.
  target: 'node20.3',
  minify: true,
  // For --debug's stack traces (cli/main.ts turns them on): they name cli/….ts. The maps are
  // read only then; the sources themselves are not copied in.
  sourcemap: 'linked',
  sourcesContent: false,
  // Prefer the ESM builds of the SDK and smithy packages: smaller, and tree-shakeable.
  mainFields: ['module', 'main'],
  banner: {
    js: [
      '#!/usr/bin/env node',
      // Some CommonJS dependencies call require(); give ESM chunks one.
      "import { createRequire as __pulsarAmiCreateRequire } from 'node:module';",
      'const require = __pulsarAmiCreateRequire(import.meta.url);',
    ].join('\n'),
  },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
await chmod(join(outdir, 'pulsar-ami.mjs'), 0o755);

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
const entry = outputs.find(([file]) => file.endsWith('pulsar-ami.mjs'));
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
console.log(
  `built dist/cli/pulsar-ami.mjs (${kib(entry?.[1].bytes ?? 0)}, ${outputs.length - 1} lazy chunks) in ${Date.now() - started} ms`,
);
