/**
 * The Node.js versions the CLI runs on: `engines.node` of package.json (a test keeps the two
 * equal). AbortSignal.any, which every request uses, is the newest API it needs (Node 20.3).
 */
export const ENGINES_NODE = '>=20.3.0';

const minimum = (/^>=(\d+)\.(\d+)\.(\d+)$/.exec(ENGINES_NODE) ?? []).slice(1).map(Number);

/** Why the CLI cannot run on Node.js `version` (`process.versions.node`), or undefined when it can. */
export function unsupportedNode(version: string): string | undefined {
  const parts = version.split('.').map((part) => Number.parseInt(part, 10));
  for (let i = 0; i < minimum.length; i++) {
    const have = parts[i] ?? 0;
    const need = minimum[i] ?? 0;
    if (have > need) return undefined;
    if (have < need) {
      return `pulsar-ami needs Node.js ${minimum.join('.')} or later (engines ${ENGINES_NODE}); this is Node.js ${version}. Install a current Node.js LTS and run it again.`;
    }
  }
  return undefined;
}
