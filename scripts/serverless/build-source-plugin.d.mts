export const SOURCE_DIRS: string[];
export function buildSourceZip(root: string): Promise<{ zip: Buffer; names: string[] }>;
export default class BuildSourcePlugin {
  constructor(serverless: unknown, options?: unknown, utils?: { log?: unknown });
  hooks: Record<string, () => Promise<void>>;
}
