/**
 * Control routes for Step Functions and EventBridge (see README.md):
 * `GET /_sandbox/executions`, `POST /_sandbox/executions/wait`, `GET /_sandbox/events`,
 * `POST /_sandbox/events/wait`, `GET /_sandbox/schedules`, `POST /_sandbox/schedules/run`.
 * Answers null for any other route, which the general control interface then serves.
 */
import { z } from 'zod';
import type { EventBus } from '../eventbridge';
import type { LambdaRuntime } from '../lambda';
import type { Execution, StepFunctions } from './engine';

export interface StepFunctionsControlRuntime {
  stepFunctions: StepFunctions;
  events: EventBus;
  lambda: LambdaRuntime;
}

interface ControlResponse {
  status: number;
  body: unknown;
}

const waitBody = z.strictObject({
  executionArns: z.array(z.string()).optional(),
  timeoutMs: z.number().int().min(0).max(600_000).optional(),
});
const scheduleBody = z.strictObject({ function: z.string().min(1) });

function summary(e: Execution): Record<string, unknown> {
  return {
    executionArn: e.arn,
    stateMachineArn: e.machine.arn,
    name: e.name,
    status: e.status,
    startDate: new Date(e.startDate).toISOString(),
    stopDate: e.stopDate !== undefined ? new Date(e.stopDate).toISOString() : null,
    currentState: e.currentState ?? null,
    transitions: e.transitions,
    error: e.error ?? null,
    cause: e.cause ?? null,
    parentArn: e.parentArn ?? null,
  };
}

function bad(error: z.ZodError): ControlResponse {
  return {
    status: 400,
    body: { error: error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') },
  };
}

export async function handleStepFunctionsControl(
  method: string,
  path: string,
  body: unknown,
  rt: StepFunctionsControlRuntime,
): Promise<ControlResponse | null> {
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  switch (route) {
    case 'GET /_sandbox/executions':
      return {
        status: 200,
        body: { timeScale: rt.stepFunctions.timeScale, executions: rt.stepFunctions.list().map(summary) },
      };
    case 'POST /_sandbox/executions/wait': {
      const parsed = waitBody.safeParse(body ?? {});
      if (!parsed.success) return bad(parsed.error);
      const { executionArns, timeoutMs = 60_000 } = parsed.data;
      let settled: boolean;
      try {
        settled = await rt.stepFunctions.wait(executionArns, timeoutMs);
      } catch (error) {
        return { status: 404, body: { error: (error as Error).message } };
      }
      if (settled) await rt.events.idle();
      const executions = (
        executionArns
          ? rt.stepFunctions.list().filter((e) => executionArns.includes(e.arn))
          : rt.stepFunctions.list()
      ).map(summary);
      return {
        status: settled ? 200 : 408,
        body: { settled, pendingDeliveries: rt.events.pendingCount(), executions },
      };
    }
    case 'GET /_sandbox/events':
      return { status: 200, body: { pending: rt.events.pendingCount(), deliveries: rt.events.list() } };
    case 'POST /_sandbox/events/wait':
      await rt.events.idle();
      return { status: 200, body: { pending: rt.events.pendingCount(), deliveries: rt.events.list() } };
    case 'GET /_sandbox/schedules':
      return {
        status: 200,
        body: {
          schedules: (rt.lambda.tryConfig()?.functions ?? []).flatMap((f) =>
            f.schedules.map((s) => ({
              function: f.functionKey,
              expression: s.expression,
              enabled: s.enabled,
            })),
          ),
        },
      };
    case 'POST /_sandbox/schedules/run': {
      const parsed = scheduleBody.safeParse(body ?? {});
      if (!parsed.success) return bad(parsed.error);
      try {
        const delivery = await rt.events.runSchedule(parsed.data.function);
        return { status: 200, body: delivery };
      } catch (error) {
        return { status: 400, body: { error: (error as Error).message } };
      }
    }
    default:
      return null;
  }
}
