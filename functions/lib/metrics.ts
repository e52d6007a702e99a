/**
 * Powertools Metrics (CloudWatch embedded metric format, written to the function's log): one
 * namespace, a metric per fact, each with the dimensions that say which path counted it.
 * Every metric is published at once (`singleMetric`), so no handler has to flush at its end.
 *
 * | metric | dimensions | counted by |
 * | --- | --- | --- |
 * | ValidationsStarted | Source=api | POST /amis/{id}/validations, a new execution |
 * | ValidationsPassed, ValidationsFailed | (none) | evaluateCheckResults: the checks' verdict |
 * | ExecutionsEndedBadly | Machine=ValidateAmi\|BuildAmi, Status=FAILED\|TIMED_OUT\|ABORTED | the execution-status rule |
 * | InstancesTerminated | Guard=execution-status-rule\|sweeper | the guard that terminated them |
 * | AmisDeleted | Path=api\|failed-build\|abandoned-build\|cleanup | the path that deregistered them |
 * | AmisRetired | Action=deprecate\|disable\|delete | CleanupAmis' Retire AMI, each AMI it retired |
 *
 * The machine's own Terminate Test Instance is an SDK task, not a Lambda: a metric filter on
 * ValidateAmi's log group counts it (InstancesTerminatedByMachine, serverless.yml).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRICS_NAMESPACE = 'PulsarAmi';

export const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'pulsar-ami' });

export type MetricName =
  | 'ValidationsStarted'
  | 'ValidationsPassed'
  | 'ValidationsFailed'
  | 'ExecutionsEndedBadly'
  | 'InstancesTerminated'
  | 'AmisDeleted'
  | 'AmisRetired';

/** Publishes one count now, with its own dimensions. A zero is published too (a guard that found nothing). */
export function countMetric(
  name: MetricName,
  value: number,
  dimensions: Record<string, string> = {},
  sink: Pick<Metrics, 'singleMetric'> = metrics,
): void {
  const single = sink.singleMetric();
  for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
  single.addMetric(name, MetricUnit.Count, value);
}
