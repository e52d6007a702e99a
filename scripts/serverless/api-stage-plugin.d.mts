/** Types of api-stage-plugin.mjs for the template tests. */
export interface ApiStageSettings {
  rateLimit: number | string;
  burstLimit: number | string;
  accessLogGroup: string;
  accessLogFormat: string;
  operatorsRoleArn?: string;
}
export function apiResourcePolicy(operatorsRoleArn: string): {
  Version: string;
  Statement: Record<string, unknown>[];
};
export function applyApiStage<T extends { Resources: Record<string, unknown> }>(
  template: T,
  settings: ApiStageSettings,
): T;
export default class ApiStagePlugin {
  constructor(serverless: unknown);
  hooks: Record<string, () => void>;
}
