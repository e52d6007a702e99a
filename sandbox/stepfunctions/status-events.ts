/**
 * Event emission: each execution's start and end put a "Step Functions Execution Status
 * Change" event on the EventBridge bus, as AWS does.
 */
import type { EventBus } from '../eventbridge';
import type { Execution } from './store';

export function putStatusChange(events: EventBus, execution: Execution): void {
  events.put({
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    resources: [execution.arn],
    detail: {
      executionArn: execution.arn,
      stateMachineArn: execution.machine.arn,
      name: execution.name,
      status: execution.status,
      startDate: execution.startDate,
      stopDate: execution.stopDate ?? null,
      input: execution.input,
      inputDetails: { included: true },
      output: execution.output ?? null,
      outputDetails: execution.output !== undefined ? { included: true } : null,
      error: execution.error ?? null,
      cause: execution.cause ?? null,
    },
  });
}
