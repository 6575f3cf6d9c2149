// The TraceQL box: a monospace textarea with autocomplete at the cursor (lib/traceql's `suggest` over the
// catalog: attribute names, services and values loaded as they are needed), Ctrl/Cmd+Enter to run, and a
// syntax error shown under the box with its position marked.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { catalogRange, services, tagNames, tagValues } from '../api/catalog';
import { suggest, type Catalog, type ErrorPosition } from '../lib/traceql';

interface Props {
  value: string;
  onChange: (text: string) => void;
  onRun: () => void;
  /** Time range of the search, for the catalog look-ups. */
  range: Record<string, string | undefined>;
  /** The server's error for this text, and where it points (null when the message names no position). */
  error: { message: string; at: ErrorPosition | null } | null;
}

const EMPTY: Catalog = { span: [], resource: [], services: [], values: {} };

export function TraceqlInput({ value, onChange, onRun, range, error }: Props) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const [cursor, setCursor] = useState(value.length);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [wanted, setWanted] = useState(false);
  const [catalog, setCatalog] = useState<Catalog>(EMPTY);
  const caret = useRef<number | null>(null);
  const lookup = catalogRange(range);
  const rangeKey = JSON.stringify(lookup);

  // names and services once the box is first used (and again for another time range)
  useEffect(() => {
    if (!wanted) return;
    let live = true;
    Promise.all([tagNames(lookup).catch(() => ({ span: [], resource: [] })), services().catch(() => [])]).then(
      ([names, svcs]) => live && setCatalog((c) => ({ ...c, span: names.span, resource: names.resource, services: svcs })),
    );
    return () => {
      live = false;
    };
  }, [wanted, rangeKey]);

  const s = useMemo(() => suggest(value, cursor, catalog), [value, cursor, catalog]);
  useEffect(() => {
    const key = s.valuesOf;
    if (!open || key === undefined || catalog.values[key]) return;
    let live = true;
    tagValues(key, lookup).then(
      (list) => live && setCatalog((c) => ({ ...c, values: { ...c.values, [key]: list } })),
      () => live && setCatalog((c) => ({ ...c, values: { ...c.values, [key]: [] } })),
    );
    return () => {
      live = false;
    };
  }, [s.valuesOf, open, rangeKey]);

  // the caret after an accepted suggestion, once the new text is in the box
  useLayoutEffect(() => {
    if (caret.current === null || !ta.current) return;
    ta.current.setSelectionRange(caret.current, caret.current);
    caret.current = null;
  }, [value]);

  // a new error: select what it points at
  useEffect(() => {
    if (!error?.at || !ta.current) return;
    ta.current.focus();
    ta.current.setSelectionRange(error.at.from, Math.max(error.at.to, error.at.from));
    setOpen(false);
  }, [error?.message, error?.at?.from]);

  const shown = open ? s.items : [];
  const accept = (i: number) => {
    const item = shown[i];
    if (!item) return;
    const next = value.slice(0, s.from) + item.insert + value.slice(s.to);
    caret.current = s.from + item.insert.length;
    setCursor(caret.current);
    setActive(0);
    // a scope goes on to its attributes
    setOpen(item.kind === 'scope');
    onChange(next);
  };
  const lines = value.slice(0, s.from).split('\n');
  const column = [...lines[lines.length - 1]].length;

  return (
    <div class="tql">
      <div class="tql-box">
        <textarea
          ref={ta}
          class={`tql-text ${error ? 'invalid' : ''}`}
          data-testid="traceql-input"
          aria-label="TraceQL query"
          spellcheck={false}
          wrap="off"
          rows={Math.min(12, Math.max(2, value.split('\n').length))}
          placeholder='{ resource.service.name = "checkout" && status = error }'
          value={value}
          onFocus={() => setWanted(true)}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
          onClick={(e) => {
            setCursor((e.target as HTMLTextAreaElement).selectionStart);
            setOpen(false);
          }}
          onInput={(e) => {
            const t = e.target as HTMLTextAreaElement;
            setCursor(t.selectionStart);
            setActive(0);
            setOpen(true);
            onChange(t.value);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              setOpen(false);
              onRun();
            } else if (e.key === ' ' && e.ctrlKey) {
              e.preventDefault();
              setCursor((e.target as HTMLTextAreaElement).selectionStart);
              setOpen(true);
            } else if (shown.length && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
              e.preventDefault();
              setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length);
            } else if (shown.length && (e.key === 'Enter' || e.key === 'Tab')) {
              e.preventDefault();
              accept(Math.min(active, shown.length - 1));
            } else if (e.key === 'Escape' || e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
              setOpen(false);
            }
          }}
        />
        {shown.length > 0 && (
          <ul class="suggest tql-suggest" role="listbox" data-testid="traceql-suggest" style={{ top: `calc(${lines.length} * 1.5em + 7px)`, left: `calc(${Math.min(column, 60)}ch + 10px)` }}>
            {shown.map((it, i) => (
              <li
                role="option"
                aria-selected={i === active}
                class={i === active ? 'active' : ''}
                ref={(el) => {
                  if (i === active) el?.scrollIntoView({ block: 'nearest' });
                }}
                onMouseDown={(e) => {
                  e.preventDefault();
                  accept(i);
                }}
              >
                <span>{it.label}</span>
                <span class="muted small">{it.kind}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      {error && <ErrorAt query={value} message={error.message} at={error.at} />}
    </div>
  );
}

/** The message, and the line it points at with the offending text underlined and a caret under it. */
function ErrorAt({ query, message, at }: { query: string; message: string; at: ErrorPosition | null }) {
  let where = null;
  if (at) {
    const lineStart = query.lastIndexOf('\n', at.from - 1) + 1;
    const lineEnd = query.indexOf('\n', at.from);
    const line = query.slice(lineStart, lineEnd < 0 ? query.length : lineEnd);
    const before = query.slice(lineStart, at.from);
    const bad = query.slice(at.from, at.to);
    const pad = [...before].map((c) => (c === '\t' ? '\t' : ' ')).join('');
    where = (
      <pre class="tql-where" data-testid="traceql-error-where">
        {before}
        <mark>{bad}</mark>
        {line.slice(before.length + bad.length)}
        {'\n'}
        {pad}
        <span class="tql-caret">{'^' + '~'.repeat(Math.max(0, [...bad].length - 1))}</span>
      </pre>
    );
  }
  return (
    <div class="tql-error" role="alert" data-testid="traceql-error" data-line={at?.line} data-column={at?.column}>
      {where}
      <div>{message}</div>
    </div>
  );
}
