/**
 * Powertools Tracer: every SDK client in functions/lib/clients is captured, so each AWS call is
 * a subsegment of the function's X-Ray trace. Off where there is no X-Ray: outside Lambda (tests,
 * the sandbox, benches: no AWS_EXECUTION_ENV) or with POWERTOOLS_TRACE_ENABLED=false; then
 * capturing a client changes nothing.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';

export const tracer = new Tracer({ serviceName: 'pulsar-ami' });

/** The client, captured by the tracer (the same object, its middleware stack extended). */
export function traced<T>(client: T, using: Pick<Tracer, 'captureAWSv3Client'> = tracer): T {
  return using.captureAWSv3Client(client);
}
