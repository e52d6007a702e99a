/**
 * Auto Scaling over the query protocol (version 2011-01-01), as far as the project uses it:
 * launch configurations (CreateLaunchConfiguration, DescribeLaunchConfigurations with
 * `LaunchConfigurationNames.member.N`, `MaxRecords` 1..100 and `NextToken`,
 * DeleteLaunchConfiguration), rendered as Auto Scaling's XML. The state and rules are in
 * models/launch-configurations.ts.
 */
import { AutoScalingValidationError, InvalidNextToken } from '../errors/autoscaling';
import { InvalidAction } from '../errors/common';
import { pageAfterKey } from '../pagination';
import { type QueryParams, renderQueryError } from '../query';
import type { AwsCallContext, QueryService, ServiceResponse } from '../services';
import type { LaunchConfigurationRecord } from '../state';
import { members, type XmlObject, xmlDocument } from '../xml';
import {
  type AutoScalingScope,
  createLaunchConfiguration,
  deleteLaunchConfiguration,
  describeLaunchConfigurations,
} from './models/launch-configurations';

export const AUTOSCALING_XMLNS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';

const VERSION = '2011-01-01';

function renderLaunchConfiguration(lc: LaunchConfigurationRecord): XmlObject {
  return {
    LaunchConfigurationName: lc.name,
    LaunchConfigurationARN: lc.arn,
    ImageId: lc.imageId,
    KeyName: '',
    SecurityGroups: members([]),
    ClassicLinkVPCSecurityGroups: members([]),
    UserData: '',
    InstanceType: lc.instanceType,
    KernelId: '',
    RamdiskId: '',
    BlockDeviceMappings: members([]),
    InstanceMonitoring: { Enabled: true },
    CreatedTime: lc.createdTime,
    EbsOptimized: false,
  };
}

type Operation = (params: QueryParams, scope: AutoScalingScope) => XmlObject | undefined;

const OPERATIONS: Record<string, Operation> = {
  CreateLaunchConfiguration: (params, scope) => {
    createLaunchConfiguration(scope, {
      name: params.get('LaunchConfigurationName'),
      imageId: params.get('ImageId'),
      instanceType: params.get('InstanceType'),
    });
    return undefined;
  },
  DescribeLaunchConfigurations: (params, scope) => {
    const names = params.list('LaunchConfigurationNames.member');
    const max = params.int('MaxRecords') ?? 50;
    if (max < 1) throw new AutoScalingValidationError(`MaxRecords must be at least 1, got ${max}`);
    if (max > 100) throw AutoScalingValidationError.maxRecords(max);
    const token = params.get('NextToken') || undefined;
    const { items, nextToken } = pageAfterKey(
      describeLaunchConfigurations(scope, names),
      (lc) => lc.name,
      max,
      token,
      `autoscaling:launch-configurations:${names.join(',')}`,
      (t) => new InvalidNextToken(t),
    );
    return { LaunchConfigurations: members(items.map(renderLaunchConfiguration)), NextToken: nextToken };
  },
  DeleteLaunchConfiguration: (params, scope) => {
    deleteLaunchConfiguration(scope, params.get('LaunchConfigurationName'));
    return undefined;
  },
};

export const autoScalingService: QueryService = {
  signingName: 'autoscaling',
  renderError: renderQueryError(AUTOSCALING_XMLNS),
  async handle(params: QueryParams, ctx: AwsCallContext): Promise<ServiceResponse> {
    const action = params.action ?? '';
    const operation = Object.hasOwn(OPERATIONS, action) ? OPERATIONS[action] : undefined;
    if (!operation) throw InvalidAction.noOperation(params.action, VERSION);
    const result = operation(params, {
      world: ctx.world,
      region: ctx.world.region(ctx.regionName),
      regionName: ctx.regionName,
    });
    return {
      status: 200,
      contentType: 'text/xml',
      body: xmlDocument(
        `${action}Response`,
        {
          ...(result ? { [`${action}Result`]: result } : {}),
          ResponseMetadata: { RequestId: ctx.requestId },
        },
        AUTOSCALING_XMLNS,
      ),
    };
  },
};
