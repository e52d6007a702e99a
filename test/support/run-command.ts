/**
 * Run Command through the real SDK against a sandbox: launch an instance and wait for its agent,
 * send AWS-RunShellScript, and wait for the invocation to end.
 */
import { type EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  type GetCommandInvocationCommandOutput,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { waitFor } from './sandbox-clients';

const FINAL = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);

/** Launches one t3.micro with the validation instance profile and waits until its agent is Online. */
export async function launchOnline(ec2: EC2Client, ssm: SSMClient, imageId: string): Promise<string> {
  const out = await ec2.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      IamInstanceProfile: { Name: 'pulsar-ami-dev-validation' },
    }),
  );
  const instanceId = out.Instances?.[0]?.InstanceId ?? '';
  await waitFor(
    async () =>
      (
        await ssm.send(
          new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }),
        )
      ).InstanceInformationList ?? [],
    (list) => list[0]?.PingStatus === 'Online',
    { what: `${instanceId} online` },
  );
  return instanceId;
}

/** Sends `commands` as one AWS-RunShellScript and answers the finished invocation. */
export async function runShell(
  ssm: SSMClient,
  instanceId: string,
  commands: string[],
  timeoutMs = 10_000,
): Promise<GetCommandInvocationCommandOutput> {
  const sent = await ssm.send(
    new SendCommandCommand({
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [instanceId],
      TimeoutSeconds: 60,
      Parameters: { commands },
    }),
  );
  return commandResult(ssm, sent.Command?.CommandId ?? '', instanceId, timeoutMs);
}

/** Waits until the invocation of `commandId` on `instanceId` has ended, and answers it. */
export function commandResult(
  ssm: SSMClient,
  commandId: string,
  instanceId: string,
  timeoutMs = 10_000,
): Promise<GetCommandInvocationCommandOutput> {
  return waitFor(
    async (): Promise<GetCommandInvocationCommandOutput | undefined> => {
      try {
        return await ssm.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
        );
      } catch (error) {
        if ((error as Error).name === 'InvocationDoesNotExist') return undefined;
        throw error;
      }
    },
    (out) => out !== undefined && FINAL.has(out.Status ?? ''),
    { timeoutMs, what: `command ${commandId} to finish` },
  ) as Promise<GetCommandInvocationCommandOutput>;
}
