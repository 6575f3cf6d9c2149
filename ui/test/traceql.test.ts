import { describe, expect, it } from 'vitest';
import { alignSeries, errorPosition, formatMetric, INTRINSICS, metricsUnit, quote, SCOPES, seriesLabel, suggest, type Catalog } from '../src/lib/traceql';

const catalog: Catalog = {
  span: ['http.route', 'http.response.status_code', 'db.system', 'e2e.run', 'key with spaces'],
  resource: ['service.name', 'host.name'],
  services: ['checkout', 'orders'],
  values: {
    'http.route': [
      { type: 'string', value: '/api/orders' },
      { type: 'string', value: '/checkout' },
    ],
    'http.response.status_code': [
      { type: 'int', value: '200' },
      { type: 'int', value: '500' },
    ],
    name: [
      { type: 'string', value: 'GET /checkout' },
      { type: 'string', value: 'say "hi"' },
    ],
  },
};

/** Suggestions with the cursor at `‸` in the text. */
function at(textWithCursor: string, cat = catalog) {
  const cursor = textWithCursor.indexOf('‸');
  const text = textWithCursor.slice(0, cursor) + textWithCursor.slice(cursor + 1);
  const s = suggest(text, cursor, cat);
  return { ...s, labels: s.items.map((i) => i.label), inserts: s.items.map((i) => i.insert), text };
}

/** The text after accepting the first suggestion. */
function accept(textWithCursor: string, pick = 0): string {
  const s = at(textWithCursor);
  return s.text.slice(0, s.from) + s.items[pick].insert + s.text.slice(s.to);
}

describe('suggest: fields', () => {
  it('offers scopes and intrinsics after {, &&, ||, ! and (', () => {
    for (const t of ['{‸', '{ ‸', '{ status = error && ‸', '{ name = "x" || ‸', '{ !‸', '{ (‸']) {
      const s = at(t);
      expect(s.labels.slice(0, SCOPES.length), t).toEqual(SCOPES);
      expect(s.labels, t).toEqual(expect.arrayContaining(['name', 'status', 'kind', 'duration', 'statusMessage', 'trace:rootService', 'trace:duration', 'span:id']));
      expect(s.labels.length, t).toBe(SCOPES.length + INTRINSICS.length);
    }
  });
  it('filters by the word typed, prefix matches first, and replaces the whole word', () => {
    const s = at('{ st‸');
    expect(s.labels).toEqual(['status', 'statusMessage', 'span.http.response.status_code']);
    expect([s.from, s.to]).toEqual([2, 4]);
    expect(at('{ sta‸tus }')).toMatchObject({ from: 2, to: 8 });
    expect(at('{ trace:‸').labels).toEqual(['trace:rootService', 'trace:rootName', 'trace:duration', 'trace:id']);
  });
  it('finds attributes by a bare word and inserts them with their scope', () => {
    expect(at('{ e2e‸').inserts).toEqual(['span.e2e.run']);
    expect(at('{ name‸').labels).toEqual(['event:name', 'instrumentation:name', 'resource.service.name', 'resource.host.name']);
  });
  it('offers attribute names after a scope', () => {
    expect(at('{ span.‸').labels).toEqual(['span.http.route', 'span.http.response.status_code', 'span.db.system', 'span.e2e.run', 'span.key with spaces']);
    expect(at('{ span.http‸').labels).toEqual(['span.http.route', 'span.http.response.status_code']);
    expect(at('{ resource.‸').labels).toEqual(['resource.service.name', 'resource.host.name']);
    expect(at('{ .na‸').labels).toEqual(['.host.name', '.service.name']);
    expect(at('{ span.route‸').labels).toEqual(['span.http.route']);
    expect(at('{ event.‸').items).toEqual([]);
  });
  it('quotes attribute names with spaces or operator characters', () => {
    expect(at('{ span.key‸').inserts).toEqual(['span."key with spaces"']);
  });
  it('offers fields inside by() and select() after a pipe', () => {
    expect(at('{ } | rate() by (resource.s‸').inserts).toEqual(['resource.service.name']);
    expect(at('{ } | select(span.http.route, ‸').labels.slice(0, 2)).toEqual(['span.', 'resource.']);
    expect(at('{ } | rate(‸').items).toEqual([]);
  });
  it('stays quiet elsewhere', () => {
    expect(at('‸').items).toEqual([]);
    expect(at('{ name ‸').items).toEqual([]);
    expect(at('{ status = error }‸').items).toEqual([]);
    expect(at('{ a } && ‸').items).toEqual([]);
    expect(at('{ name = "a && ‸').items).toEqual([]);
  });
  it('leaves out what is already typed in full', () => {
    expect(at('{ span.http.route‸').labels).toEqual([]);
    expect(at('{ status‸').labels).toEqual(['statusMessage', 'span.http.response.status_code']);
  });
  it('accepting a suggestion inserts it over the word', () => {
    expect(accept('{ sp‸ }')).toBe('{ span. }');
    expect(accept('{ span.db‸ }')).toBe('{ span.db.system }');
  });
});

describe('suggest: values', () => {
  it('offers status and kind enums unquoted', () => {
    expect(at('{ status = ‸').inserts).toEqual(['error', 'ok', 'unset']);
    expect(at('{ status != e‸').inserts).toEqual(['error']);
    expect(at('{ span:kind=‸').labels).toEqual(['server', 'client', 'producer', 'consumer', 'internal', 'unspecified']);
    expect(at('{ kind = c‸').labels).toEqual(['client', 'consumer']);
  });
  it('offers quoted attribute values, by the attribute name without its scope', () => {
    const s = at('{ span.http.route = ‸');
    expect(s.valuesOf).toBe('http.route');
    expect(s.inserts).toEqual(['"/api/orders"', '"/checkout"']);
    expect(at('{ .http.route="/api‸').inserts).toEqual(['"/api/orders"']);
    expect(at('{ resource.http.route != "check‸').inserts).toEqual(['"/checkout"']);
  });
  it('inserts numbers bare', () => {
    expect(at('{ span.http.response.status_code = 5‸').inserts).toEqual(['500']);
  });
  it('offers services and span names with escaping', () => {
    expect(at('{ resource.service.name = "‸').inserts).toEqual(['"checkout"', '"orders"']);
    expect(at('{ trace:rootService = o‸').inserts).toEqual(['"orders"']);
    expect(at('{ name = "say‸').inserts).toEqual(['"say \\"hi\\""']);
    expect(at('{ name = ‸').valuesOf).toBe('name');
  });
  it('asks for values it does not have yet', () => {
    const s = at('{ span.db.system = ‸');
    expect(s.valuesOf).toBe('db.system');
    expect(s.items).toEqual([]);
  });
  it('replaces a partial string including its closing quote', () => {
    expect(accept('{ span.http.route = "/ch‸" }')).toBe('{ span.http.route = "/checkout" }');
    expect(accept('{ span.http.route = "/ch‸ }')).toBe('{ span.http.route = "/checkout" }');
    expect(accept('{ status = e‸ }')).toBe('{ status = error }');
  });
  it('offers no values for comparisons, regexes or unknown fields', () => {
    expect(at('{ duration > ‸').items).toEqual([]);
    expect(at('{ span.http.route =~ "‸').items).toEqual([]);
    expect(at('{ duration = ‸').items).toEqual([]);
  });
  it('quotes strings as TraceQL does', () => {
    expect(quote('a"b\\c')).toBe('"a\\"b\\\\c"');
  });
});

describe('errorPosition', () => {
  it('finds the line, column and offending token', () => {
    const q = '{ span.x = }';
    expect(errorPosition("TraceQL: parse error: line 1, column 12: expected a value after '=', found '}'", q)).toEqual({ line: 1, column: 12, from: 11, to: 12 });
    const multi = '{ status = error }\n  && { name = "x" } | count() >';
    const e = errorPosition('TraceQL: parse error: line 2, column 6: expected a spanset, found \'{\'', multi);
    expect(e).toEqual({ line: 2, column: 6, from: 24, to: 25 });
    expect(multi.slice(e!.from, e!.to)).toBe('{');
  });
  it('covers a multi-character token when the message quotes it', () => {
    const q = '{ a = 1 } || && { b = 2 }';
    const e = errorPosition("TraceQL: parse error: line 1, column 14: expected a spanset, found '&&'", q)!;
    expect(q.slice(e.from, e.to)).toBe('&&');
  });
  it('counts columns in characters, not UTF-16 units', () => {
    const q = '{ name = "🙂" && }';
    const e = errorPosition("line 1, column 17: expected a condition, found '}'", q)!;
    expect(q.slice(e.from, e.to)).toBe('}');
  });
  it('points past the end of the query', () => {
    expect(errorPosition('TraceQL: parse error: line 1, column 8: expected \'}\', found end of query', '{ a = 1')).toEqual({ line: 1, column: 8, from: 7, to: 7 });
  });
  it('is null without a position or outside the query', () => {
    expect(errorPosition('TraceQL: a metrics query is answered by the metrics endpoints', '{ }')).toBeNull();
    expect(errorPosition('line 3, column 1: x', '{ }')).toBeNull();
  });
});

describe('metrics answers', () => {
  it('knows the unit from the metrics function and its field', () => {
    expect(metricsUnit('{ } | rate() by (resource.service.name)')).toBe('rate');
    expect(metricsUnit('{ } | quantile_over_time(duration, .99)')).toBe('seconds');
    expect(metricsUnit('{ } | avg_over_time(trace:duration)')).toBe('seconds');
    expect(metricsUnit('{ } | count_over_time() by (span.http.route)')).toBe('number');
    expect(metricsUnit('{ } | max_over_time(span.http.response.status_code)')).toBe('number');
    expect(formatMetric('seconds', 0.25)).toBe('250ms');
    expect(formatMetric('rate', 2)).toBe('2.00/s');
    expect(formatMetric('number', 1234)).toBe('1,234');
    expect(formatMetric('number', 0.123456)).toBe('0.1235');
  });
  it('names series by their labels', () => {
    expect(seriesLabel([{ key: 'resource.service.name', value: 'api' }, { key: 'span.http.response.status_code', value: 500 }])).toBe('resource.service.name="api", span.http.response.status_code=500');
    expect(seriesLabel([])).toBe('all spans');
  });
  it('aligns sparse series on the union of their times', () => {
    const { xs, ys } = alignSeries([
      { labels: [], points: [['1700000060000000000', 2], ['1700000000000000000', 1]] },
      { labels: [], points: [['1700000120000000000', 5]] },
    ]);
    expect(xs).toEqual([1700000000, 1700000060, 1700000120]);
    expect(ys).toEqual([
      [1, 2, null],
      [null, null, 5],
    ]);
  });
});
