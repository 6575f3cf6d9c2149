// Autocomplete sources, cached per time range: attribute names (/api/v1/tags), an attribute's values
// (/api/v1/tags/{key}/values) and the services. A failed look-up is forgotten, so the next one retries.

import { parseDuration } from '../trace/format';
import { get } from './client';
import type { TagNames, TagValues } from './types';

type Range = Record<string, string | undefined>;

const cache = new Map<string, Promise<unknown>>();

function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** The range to look names and values up in: the search's, but at least the last day, so short ranges still
 * offer names. */
export function catalogRange(range: Range): Range {
  if (range.start || range.end) return range;
  const ns = range.lookback && range.lookback !== 'all' ? parseDuration(range.lookback) : null;
  return { lookback: ns === null || ns < 86400e9 ? '24h' : range.lookback };
}

export function tagNames(range: Range): Promise<TagNames> {
  return cached(`names${JSON.stringify(range)}`, () => get<TagNames>('/api/v1/tags', range));
}

export function tagValues(key: string, range: Range): Promise<TagValues['values']> {
  return cached(`values${key}${JSON.stringify(range)}`, () =>
    get<TagValues>(`/api/v1/tags/${encodeURIComponent(key)}/values`, { ...range, limit: 500 }).then((r) => r.values),
  );
}

export function services(): Promise<string[]> {
  return cached('services', () => get<{ services: string[] }>('/api/v1/services').then((r) => r.services));
}
