/**
 * The `pulsar-ami` executable. Kept small and free of modern syntax and APIs: it checks the
 * Node.js version first, so an older Node gets one clear line instead of a stack trace, then
 * sets up the process and loads the CLI.
 */
import { unsupportedNode } from './node-version';

const unsupported = unsupportedNode(process.versions.node);
if (unsupported !== undefined) {
  process.stderr.write(`${unsupported}\n`);
  process.exit(1);
}

// The SDK warns on every Node older than the one its future releases will need. The CLI
// supports the Node versions of its `engines` (checked above), so for its users the warning is
// noise; this is the SDK's documented switch for it. A value the user set is kept.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// --debug prints stack traces: with source maps on, they name the TypeScript sources. Node
// reads the maps of modules loaded after this, hence the CLI itself is loaded below.
if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true);

await import('./start');
