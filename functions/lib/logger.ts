import { Logger } from '@aws-lambda-powertools/logger';

/** One logger for every function: fixed messages, data in fields. */
export const logger = new Logger({ serviceName: 'pulsar-ami' });
