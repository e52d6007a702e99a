/** GET /amis — this tool's AMIs, newest first, paginated (`limit`, `nextToken`). */

import type { Ami } from './lib/ami';
import { decodeCursor, pageOf, scanAmis } from './lib/ami-catalogue';
import { ec2 } from './lib/clients/ec2';
import { config } from './lib/config';
import { InvalidInputError } from './lib/errors';
import { apiHandler, json, parseInput } from './lib/http';
import * as z from './lib/zod';

const LIMIT_MESSAGE = { error: 'must be a whole number from 1 to 1000' };

const query = z.object({
  limit: z._default(
    z.coerce
      .number(LIMIT_MESSAGE)
      .check(z.int(LIMIT_MESSAGE), z.gte(1, LIMIT_MESSAGE), z.lte(1000, LIMIT_MESSAGE)),
    100,
  ),
  nextToken: z.optional(z.string().check(z.maxLength(2048, { error: 'is not a token this API issued' }))),
});

/**
 * A first page scans the account afresh; the pages that follow within a few seconds reuse
 * that scan, so walking N pages costs one scan, not N. A container that lost the scan just
 * scans again: tokens are positions in the order, not indexes into the scan.
 */
const SCAN_REUSE_MS = 15_000;
let lastScan: { at: number; amis: Ami[] } | undefined;

async function amisFor(continuing: boolean): Promise<Ami[]> {
  const now = Date.now();
  if (continuing && lastScan && now - lastScan.at < SCAN_REUSE_MS) return lastScan.amis;
  const amis = await scanAmis(ec2, config.listPageSize);
  lastScan = { at: now, amis };
  return amis;
}

export const handler = apiHandler(async (event) => {
  const input = parseInput(query, event.queryStringParameters ?? {});
  const cursor = input.nextToken === undefined ? null : decodeCursor(input.nextToken);
  if (input.nextToken !== undefined && cursor === null) {
    throw new InvalidInputError([
      { field: 'nextToken', message: 'nextToken is not a token this API issued' },
    ]);
  }
  return json(200, pageOf(await amisFor(cursor !== null), input.limit, cursor));
});
