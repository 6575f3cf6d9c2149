// Attribute conditions as the search API takes them: key=v, key!=v, key=~re, key!~re.

const OPS = ['!=', '=~', '!~', '='];

/** Splits a condition at its first operator; null when it has none (or no key). */
export function splitCondition(s: string): { key: string; op: string; value: string } | null {
  let best: { key: string; op: string; value: string } | null = null;
  for (const op of OPS) {
    const i = s.indexOf(op);
    if (i > 0 && (best === null || i < best.key.length || (i === best.key.length && op.length > best.op.length))) {
      best = { key: s.slice(0, i), op, value: s.slice(i + op.length) };
    }
  }
  return best;
}


/** An equality condition for an exact value: `|` separates alternatives in the search grammar, so
 * it (and the backslash) is escaped. */
export function tagCondition(key: string, value: string): string {
  return `${key}=${value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|')}`;
}
