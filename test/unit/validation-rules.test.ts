import { describe, expect, it } from 'vitest';
import {
  amiIdSchema,
  fieldProblems,
  instanceTypeSchema,
  regionSchema,
  versionSchema,
} from '../../functions/lib/validation';

const messageOf = (schema: typeof amiIdSchema, value: unknown) => {
  const parsed = schema.safeParse(value);
  if (parsed.success) return null;
  return fieldProblems(parsed.error)[0]?.message;
};

describe('input rules', () => {
  it('say a missing value is required, and a value of another type must be a string', () => {
    for (const schema of [amiIdSchema, versionSchema, instanceTypeSchema, regionSchema]) {
      expect(messageOf(schema, undefined)).toBe('input is required');
      expect(messageOf(schema, 5)).toBe('input must be a string, got 5');
      expect(messageOf(schema, ['t3.micro'])).toBe('input must be a string, got ["t3.micro"]');
    }
  });

  it('accept the values EC2 and the guide use, and name what a good value looks like otherwise', () => {
    expect(amiIdSchema.safeParse('ami-0a1b2c3d4e5f67890').success).toBe(true);
    expect(amiIdSchema.safeParse('ami-12345678').success).toBe(true);
    expect(messageOf(amiIdSchema, 'ami-xyz')).toMatch(/^input must look like ami-0123456789abcdef0/);
    for (const type of ['t3.micro', 'm7g.2xlarge', 'c6in.metal', 'u-6tb1.112xlarge', 'm7i.metal-48xl']) {
      expect([type, instanceTypeSchema.safeParse(type).success]).toEqual([type, true]);
    }
    for (const type of ['t3.huge', 'm5', 'T3.MICRO', 't3.', '.micro']) {
      expect([type, instanceTypeSchema.safeParse(type).success]).toEqual([type, false]);
    }
    expect(regionSchema.safeParse('us-west-2').success).toBe(true);
    expect(messageOf(regionSchema, 'us-weast-2')).toBe(
      "input must be an AWS region such as us-west-2, got 'us-weast-2'",
    );
    expect(messageOf(versionSchema, '3.0')).toBe("input must be MAJOR.MINOR.PATCH, e.g. 3.0.0, got '3.0'");
  });
});
