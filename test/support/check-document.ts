/**
 * The checks as the ValidateAmi machine sends them: the runShellScript commands of the stack's
 * SSM document (scripts/serverless/validation-checks-document.cjs, what serverless.yml ships
 * as ValidationChecksDocument), with `{{ version }}` substituted as SSM substitutes it.
 */
import { createRequire } from 'node:module';

interface DocumentContent {
  mainSteps: { inputs: { runCommand: string[] } }[];
}

const content = createRequire(import.meta.url)(
  '../../scripts/serverless/validation-checks-document.cjs',
) as DocumentContent;

/** The document's commands for this version (SSM refuses a version off its pattern before this). */
export function documentCommands(version: string): string[] {
  return (content.mainSteps[0]?.inputs.runCommand ?? []).map((line) =>
    line.replace(/\{\{\s*version\s*\}\}/g, version),
  );
}
