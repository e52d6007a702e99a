/**
 * A local serverless plugin: the REST API's stage settings and resource policy, in the
 * CloudFormation template itself (so `serverless package` shows them, offline, and the
 * template tests assert on them). The framework sets a stage's logs and tracing with SDK calls
 * after the deploy and has no stage throttling at all; here they are the Deployment's
 * `StageDescription`, which CloudFormation applies to the stage it creates:
 *
 * - throttling: custom.limits.apiRateLimit (requests per second) and apiBurstLimit, for every
 *   method of the stage; past them API Gateway answers 429 itself;
 * - access logging: one JSON line per request into ApiAccessLogGroup (custom.api.accessLogFormat);
 * - tracing and CloudWatch metrics per method.
 *
 * And, only when custom.operatorsRoleArn is set (PULSAR_AMI_OPERATORS_ROLE_ARN), a resource
 * policy: the account's principals may call every route (IAM still decides which), and the
 * mutating routes (POST, DELETE) are denied to every principal but that role.
 */

const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** The resource policy for `operatorsRoleArn`: reads for the account, changes for the role only. */
export function apiResourcePolicy(operatorsRoleArn) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AccountMayCall',
        Effect: 'Allow',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub, not JavaScript
        Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
      },
      {
        Sid: 'OnlyOperatorsChange',
        Effect: 'Deny',
        Principal: '*',
        Action: 'execute-api:Invoke',
        Resource: ['execute-api:/*/POST/*', 'execute-api:/*/DELETE/*'],
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': operatorsRoleArn } },
      },
    ],
  };
}

/**
 * Applies the settings to a compiled template (in place): the Deployment's StageDescription,
 * and the RestApi's Policy (set when `operatorsRoleArn` is, removed otherwise).
 */
export function applyApiStage(template, settings) {
  const resources = template.Resources ?? {};
  const deployments = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Deployment');
  const restApi = resources.ApiGatewayRestApi;
  if (deployments.length !== 1 || !restApi) {
    throw new Error('api-stage-plugin: expected one ApiGatewayRestApi and one Deployment (an http event)');
  }
  const rate = Number(settings.rateLimit);
  const burst = Number(settings.burstLimit);
  if (!(rate > 0) || !Number.isInteger(burst) || burst < 1) {
    throw new Error(
      `api-stage-plugin: custom.limits.apiRateLimit and apiBurstLimit must be positive (got ${settings.rateLimit}, ${settings.burstLimit})`,
    );
  }
  deployments[0].Properties.StageDescription = {
    ThrottlingRateLimit: rate,
    ThrottlingBurstLimit: burst,
    TracingEnabled: true,
    MetricsEnabled: true,
    AccessLogSetting: {
      DestinationArn: { 'Fn::GetAtt': [settings.accessLogGroup, 'Arn'] },
      Format: settings.accessLogFormat,
    },
  };
  const role = settings.operatorsRoleArn ?? '';
  if (role === '') {
    delete restApi.Properties.Policy;
  } else {
    if (!ROLE_ARN.test(role)) {
      throw new Error(`api-stage-plugin: custom.operatorsRoleArn must be an IAM role ARN (got ${role})`);
    }
    restApi.Properties.Policy = apiResourcePolicy(role);
  }
  return template;
}

export default class ApiStagePlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.apply() };
  }

  apply() {
    const service = this.serverless.service;
    const custom = service.custom ?? {};
    applyApiStage(service.provider.compiledCloudFormationTemplate, {
      rateLimit: custom.limits?.apiRateLimit,
      burstLimit: custom.limits?.apiBurstLimit,
      accessLogGroup: 'ApiAccessLogGroup',
      accessLogFormat: custom.api?.accessLogFormat,
      operatorsRoleArn: custom.operatorsRoleArn,
    });
  }
}
