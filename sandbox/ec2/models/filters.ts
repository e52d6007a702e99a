/**
 * EC2 `Filter.N` matching: values OR within a filter, filters AND together, `*` and `?`
 * wildcards, `tag:KEY`, `tag-key` and `tag-value` on every taggable resource.
 */
import { InvalidParameterValue } from '../../errors/ec2';
import type { Tags } from '../../state';

/** One filter: a name and the values any of which may match. */
export interface Filter {
  name: string;
  values: string[];
}

/** How to read each supported filter's value(s) from a resource. */
export type FilterFields<T> = Record<string, (item: T) => string | readonly string[] | undefined>;

/** Compiled patterns, a pure memo bounded to MATCHER_CACHE_LIMIT entries (emptied when full). */
const matcherCache = new Map<string, (value: string) => boolean>();
const MATCHER_CACHE_LIMIT = 1000;

export function wildcard(pattern: string): (value: string) => boolean {
  const cached = matcherCache.get(pattern);
  if (cached) return cached;
  let matcher: (value: string) => boolean;
  if (!/[*?]/.test(pattern)) {
    matcher = (value) => value === pattern;
  } else {
    const source = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    const regex = new RegExp(`^${source}$`, 's');
    matcher = (value) => regex.test(value);
  }
  if (matcherCache.size >= MATCHER_CACHE_LIMIT) matcherCache.clear();
  matcherCache.set(pattern, matcher);
  return matcher;
}

/** Builds one predicate for all filters; unknown filter names are an InvalidParameterValue, as in EC2. */
export function compileFilters<T>(
  filters: readonly Filter[],
  fields: FilterFields<T>,
  tagsOf: (item: T) => Tags,
): (item: T) => boolean {
  const tests = filters.map((filter) => {
    const matchers = filter.values.map(wildcard);
    const any = (values: readonly string[] | string | undefined): boolean => {
      if (values === undefined) return false;
      const list = typeof values === 'string' ? [values] : values;
      return list.some((v) => matchers.some((m) => m(v)));
    };
    if (filter.name.startsWith('tag:')) {
      const key = filter.name.slice(4);
      return (item: T) => any(tagsOf(item)[key]);
    }
    if (filter.name === 'tag-key') return (item: T) => any(Object.keys(tagsOf(item)));
    if (filter.name === 'tag-value') return (item: T) => any(Object.values(tagsOf(item)));
    const field = fields[filter.name];
    if (!field) throw InvalidParameterValue.filter(filter.name);
    return (item: T) => any(field(item));
  });
  return (item) => tests.every((test) => test(item));
}
