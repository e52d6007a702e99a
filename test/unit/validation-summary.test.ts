/** The one-line summary of a failed validation: a generic service error is told by its Cause. */
import { describe, expect, it } from 'vitest';
import { causeReason, describeFailure } from '../../functions/lib/validation-progress';

const CAPACITY =
  'We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-west-2a). Our system will be working on provisioning additional capacity.';

describe('describeFailure', () => {
  it('Ec2.Ec2Exception at launch, sandbox Cause (with Error Code): the code and the first sentence', () => {
    const cause = `${CAPACITY} (Service: Ec2, Status Code: 500, Error Code: InsufficientInstanceCapacity, Request ID: 7f3c1d2e)`;
    expect(describeFailure('Ec2.Ec2Exception', 'Launch Test Instance', 'launch', [], cause)).toBe(
      'Could not launch the test instance: InsufficientInstanceCapacity — We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-west-2a).',
    );
  });

  it('real AWS Cause (no Error Code): the first sentence', () => {
    const cause = `${CAPACITY} (Service: Ec2, Status Code: 500, Request ID: 7f3c1d2e)`;
    expect(describeFailure('Ec2.Ec2Exception', 'Launch Test Instance', 'launch', [], cause)).toBe(
      'Could not launch the test instance: We currently do not have sufficient t3.micro capacity in the Availability Zone you requested (us-west-2a).',
    );
  });

  it('other generic service names too; a long sentence is cut with …', () => {
    const long = `${'x'.repeat(200)} (Service: Ssm, Status Code: 400, Request ID: r)`;
    const summary = describeFailure('Ssm.SsmException', 'Run Validation Checks', 'checks', [], long);
    expect(summary).toBe(`Could not send the validation checks: ${'x'.repeat(119)}…`);
  });

  it('named errors, and a generic one with an empty Cause, keep `Phrase (Error)`', () => {
    expect(describeFailure('SsmAgentOfflineError', 'Flag SSM Agent Offline', 'ssmAgent', [], 'x')).toBe(
      'SSM agent did not come online (SsmAgentOfflineError)',
    );
    expect(describeFailure('Ec2.Ec2Exception', 'Launch Test Instance', 'launch', [], '')).toBe(
      'Could not launch the test instance (Ec2.Ec2Exception)',
    );
    expect(
      describeFailure('Ec2.InsufficientInstanceCapacityException', 'Launch Test Instance', 'launch'),
    ).toBe('Could not launch the test instance (Ec2.InsufficientInstanceCapacityException)');
  });

  it('causeReason: the code alone when the message is empty', () => {
    expect(
      causeReason(' (Service: Ec2, Status Code: 403, Error Code: UnauthorizedOperation, Request ID: r)'),
    ).toBe('UnauthorizedOperation');
    expect(causeReason('')).toBeUndefined();
  });
});
