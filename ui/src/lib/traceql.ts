// TraceQL in the UI, framework-free: autocomplete suggestions at the cursor (scopes, intrinsics, attribute
// names and values from the catalog), the position of a syntax error named in the server's message, and
// metrics answers as chart data (aligned series, labels, units).

import type { TagValues, TraceqlAttribute, TraceqlMetricsResponse, TraceqlValue } from '../api/types';
import { formatDuration, formatRate, nanosToMillis } from '../trace/format';

/** What the editor knows about the data: attribute names by scope, services, and values loaded so far. */
export interface Catalog {
  span: string[];
  resource: string[];
  services: string[];
  /** Values of an attribute by its name as /api/v1/tags/{key}/values takes it (`http.route`, `name`). */
  values: Record<string, TagValues['values']>;
}

export interface Suggestion {
  label: string;
  /** Replaces text[from, to) when accepted. */
  insert: string;
  kind: 'scope' | 'intrinsic' | 'attribute' | 'value';
}

export interface Suggestions {
  from: number;
  to: number;
  items: Suggestion[];
  /** The attribute whose values these suggestions are (or would be, once loaded into the catalog). */
  valuesOf?: string;
}

export const SCOPES = ['span.', 'resource.', 'event.', 'link.', 'instrumentation.', '.'];

export const INTRINSICS = [
  'name',
  'status',
  'kind',
  'duration',
  'statusMessage',
  'trace:rootService',
  'trace:rootName',
  'trace:duration',
  'trace:id',
  'span:id',
  'span:parentID',
  'span:childCount',
  'event:name',
  'event:timeSinceStart',
  'link:traceID',
  'link:spanID',
  'instrumentation:name',
  'instrumentation:version',
];

const STATUSES = ['error', 'ok', 'unset'];
const KINDS = ['server', 'client', 'producer', 'consumer', 'internal', 'unspecified'];

const MAX_ITEMS = 50;
/** Characters of an attribute name or bare value (everything TraceQL does not use as an operator). */
const WORD = /[^\s{}()=~!<>&|^,"`]*$/;
const WORD_AHEAD = /^[^\s{}()=~!<>&|^,"`]*/;
/** A field, then `=` or `!=`, at the end of the text. */
const FIELD_EQ = /(?<![^\s{}()&|!,])([A-Za-z_.][^\s{}()=~!<>&|^,"`]*)\s*(!=|=)\s*$/;
/** Functions that take no field, so `(` after them starts no field. */
const NO_ARGS = /\b(rate|count|count_over_time)\s*\($/;

/** Suggestions for the text at `cursor`: what can be typed there, and the range it replaces. */
export function suggest(text: string, cursor: number, catalog: Catalog): Suggestions {
  const before = text.slice(0, cursor);
  const scan = scanText(before);
  if (scan.stringStart >= 0) {
    // inside a string: a value after `field =`, the range covering both quotes
    const from = scan.stringStart;
    const to = cursor + (text[cursor] === text[from] ? 1 : 0);
    return values(before.slice(0, from), from, to, text.slice(from + 1, cursor), text.slice(from, to), catalog);
  }
  const word = WORD.exec(before)![0];
  const from = cursor - word.length;
  const to = cursor + WORD_AHEAD.exec(text.slice(cursor))![0].length;
  const pre = before.slice(0, from);
  if (FIELD_EQ.test(pre)) return values(pre, from, to, word, text.slice(from, to), catalog);
  const trimmed = pre.trimEnd();
  const fieldStart = (scan.depth > 0 && /(\{|&&|\|\||!|\()$/.test(trimmed)) || (/[(,]$/.test(trimmed) && !NO_ARGS.test(trimmed));
  if (!fieldStart) return { from: cursor, to: cursor, items: [] };
  return { from, to, items: fields(word, catalog, text.slice(from, to)) };
}

/** Where the text before the cursor stands: the start of an unterminated string (or -1), and `{` depth. */
function scanText(s: string): { stringStart: number; depth: number } {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (start >= 0) {
      if (c === '\\' && s[start] === '"') i++;
      else if (c === s[start]) start = -1;
    } else if (c === '"' || c === '`') start = i;
    else if (c === '{') depth++;
    else if (c === '}') depth = Math.max(0, depth - 1);
  }
  return { stringStart: start, depth };
}

/** Fields at the start of a condition or an argument: scopes and intrinsics, or a scope's attributes. */
function fields(word: string, catalog: Catalog, current: string): Suggestion[] {
  const scoped = /^(span|resource|event|link|instrumentation)?\.(.*)$/.exec(word);
  if (scoped) {
    const scope = scoped[1] ?? '';
    const names = scope === 'span' ? catalog.span : scope === 'resource' ? catalog.resource : scope === '' ? [...new Set([...catalog.span, ...catalog.resource])].sort() : [];
    return rank(names.map((n) => attribute(scope, n)), scoped[2], current, (it) => it.label.slice(scope.length + 1));
  }
  const items: Suggestion[] = [
    ...SCOPES.map((s) => ({ label: s, insert: s, kind: 'scope' as const })),
    ...INTRINSICS.map((s) => ({ label: s, insert: s, kind: 'intrinsic' as const })),
  ];
  // a bare word also finds attributes by their name
  if (word) items.push(...catalog.span.map((n) => attribute('span', n)), ...catalog.resource.map((n) => attribute('resource', n)));
  return rank(items, word, current, (it) => (it.kind === 'attribute' ? it.label.slice(it.label.indexOf('.') + 1) : it.label));
}

/** Values after `field =` or `field !=`: enums, services, or the attribute's values from the catalog. */
function values(pre: string, from: number, to: number, partial: string, current: string, catalog: Catalog): Suggestions {
  const field = FIELD_EQ.exec(pre)?.[1];
  const needle = partial.replace(/^["`]/, '');
  const bare = (v: string): Suggestion => ({ label: v, insert: v, kind: 'value' });
  const out = (items: Suggestion[], valuesOf?: string): Suggestions => ({ from, to, items: rank(items, needle, current, (it) => it.label), valuesOf });
  if (field === undefined) return { from: to, to, items: [] };
  if (field === 'status' || field === 'span:status') return out(STATUSES.map(bare));
  if (field === 'kind' || field === 'span:kind') return out(KINDS.map(bare));
  if (['resource.service.name', '.service.name', 'trace:rootService', 'rootServiceName'].includes(field)) return out(catalog.services.map(stringValue));
  const key = valueKey(field);
  if (key === null) return { from: to, to, items: [] };
  return out((catalog.values[key] ?? []).map((v) => (v.type === 'string' ? stringValue(v.value) : bare(v.value))), key);
}

/** The catalog key of a field's values: span names, or the attribute's name without its scope. */
function valueKey(field: string): string | null {
  if (['name', 'span:name', 'rootName', 'trace:rootName'].includes(field)) return 'name';
  const m = /^(?:span|resource|event|link|instrumentation)?\.(.+)$/.exec(field);
  return m ? m[1] : null;
}

function stringValue(v: string): Suggestion {
  return { label: v, insert: quote(v), kind: 'value' };
}

/** A TraceQL string literal. */
export function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A scoped attribute, its name quoted when it holds characters TraceQL reads as operators. */
function attribute(scope: string, name: string): Suggestion {
  const insert = /^[^\s{}()=~!<>&|^,"`]+$/.test(name) ? `${scope}.${name}` : `${scope}.${quote(name)}`;
  return { label: `${scope}.${name}`, insert, kind: 'attribute' };
}

/** Items whose text (`key`) starts with `needle`, then those where it starts a later word (`route` in
 * `http.route`, `check` in `/checkout`); not the one already typed in full. */
function rank(items: Suggestion[], needle: string, current: string, key: (it: Suggestion) => string): Suggestion[] {
  const n = needle.toLowerCase();
  const starts: Suggestion[] = [];
  const later: Suggestion[] = [];
  const seen = new Set<string>([current]);
  for (const it of items) {
    if (seen.has(it.insert)) continue;
    const k = key(it).toLowerCase();
    if (k.startsWith(n)) starts.push(it);
    else if (startsWord(k, n)) later.push(it);
    else continue;
    seen.add(it.insert);
  }
  return [...starts, ...later].slice(0, MAX_ITEMS);
}

function startsWord(text: string, needle: string): boolean {
  for (let i = text.indexOf(needle, 1); i > 0; i = text.indexOf(needle, i + 1)) if (!/[\p{L}\p{N}]/u.test(text[i - 1])) return true;
  return false;
}

export interface ErrorPosition {
  line: number;
  column: number;
  /** The offending text as offsets into the query (`to` = `from` at the end of the query). */
  from: number;
  to: number;
}

/**
 * Where a TraceQL error points, from its message (`... line 1, column 14: expected ..., found '}'`):
 * columns count characters, so astral characters take two UTF-16 units. The range covers the token the
 * message names when it is quoted there, else one character.
 */
export function errorPosition(message: string, query: string): ErrorPosition | null {
  const m = /line (\d+), column (\d+)/.exec(message);
  if (!m) return null;
  const line = Number(m[1]);
  const column = Number(m[2]);
  const lines = query.split('\n');
  if (line < 1 || line > lines.length || column < 1) return null;
  let from = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  const chars = [...lines[line - 1]];
  const col = Math.min(column - 1, chars.length);
  for (let i = 0; i < col; i++) from += chars[i].length;
  const found = /found '([^']+)'\s*$/.exec(message)?.[1] ?? /found attribute (\S+)\s*$/.exec(message)?.[1];
  const rest = chars.slice(col);
  const token = found && rest.join('').startsWith(found) ? found.length : Math.min(1, rest.length);
  const lineEnd = from + rest.join('').length;
  return { line, column, from, to: Math.min(lineEnd, from + token) };
}

/** What a metrics query's values are: durations (the server answers seconds), rates per second, or counts. */
export function metricsUnit(query: string): 'seconds' | 'rate' | 'number' {
  const m = /\|\s*(rate|\w+_over_time)\s*\(\s*([^,)\s]*)/.exec(query);
  if (!m) return 'number';
  if (m[1] === 'rate') return 'rate';
  const durationField = /^(span:|trace:)?duration$|^traceDuration$|^event:timeSinceStart$/.test(m[2]);
  return durationField && ['quantile_over_time', 'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time'].includes(m[1]) ? 'seconds' : 'number';
}

export function formatMetric(unit: 'seconds' | 'rate' | 'number', v: number): string {
  if (unit === 'seconds') return formatDuration(v * 1e9);
  if (unit === 'rate') return formatRate(v);
  return Number.isInteger(v) ? v.toLocaleString('en-US') : String(+v.toPrecision(4));
}

/** A series' name from its labels: `resource.service.name="api", status=error`. */
export function seriesLabel(labels: TraceqlAttribute[]): string {
  return labels.length ? labels.map((l) => `${l.key}=${valueText(l.value)}`).join(', ') : 'all spans';
}

/** A value as TraceQL writes it: strings quoted, the rest as they are. */
export function valueText(v: TraceqlValue): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** The series on one time axis (seconds, ascending): one row per series, null where it has no point. */
export function alignSeries(series: TraceqlMetricsResponse['series']): { xs: number[]; ys: (number | null)[][] } {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  const index = new Map(times.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const row: (number | null)[] = times.map(() => null);
    for (const [t, v] of s.points) row[index.get(t)!] = v;
    return row;
  });
  return { xs: times.map((t) => nanosToMillis(t) / 1000), ys };
}
