// Attribute conditions with autocomplete: attribute names from /api/v1/tags, then values from
// /api/v1/tags/{key}/values once an operator is typed.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { catalogRange, tagNames as loadTagNames, tagValues as loadTagValues } from '../api/catalog';
import { splitCondition } from '../lib/tags';

const SPECIAL_KEYS = ['error', 'span.kind', 'status'];

function tagNames(range: Record<string, string | undefined>): Promise<string[]> {
  return loadTagNames(range).then((r) => [...new Set([...SPECIAL_KEYS, ...r.span, ...r.resource])]);
}

function tagValues(tag: string, range: Record<string, string | undefined>): Promise<string[]> {
  return loadTagValues(tag, range).then((values) => values.map((v) => v.value));
}

interface Props {
  tags: string[];
  onChange: (tags: string[]) => void;
  /** Time range for the catalog look-ups (lookback or start/end); tags default to the last 24 h. */
  range: Record<string, string | undefined>;
}

export function TagInput({ tags, onChange, range }: Props) {
  const [text, setText] = useState('');
  const [names, setNames] = useState<string[]>([]);
  const [values, setValues] = useState<{ key: string; list: string[] }>({ key: '', list: [] });
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const input = useRef<HTMLInputElement>(null);
  const lookupRange = catalogRange(range);
  const rangeKey = JSON.stringify(lookupRange);

  useEffect(() => {
    if (!open) return;
    let live = true;
    tagNames(lookupRange).then((n) => live && setNames(n), () => live && setNames(SPECIAL_KEYS));
    return () => {
      live = false;
    };
  }, [open, rangeKey]);

  const cond = splitCondition(text);
  useEffect(() => {
    if (!cond || !open) return;
    if (values.key === cond.key) return;
    let live = true;
    tagValues(cond.key, lookupRange).then(
      (list) => live && setValues({ key: cond.key, list }),
      () => live && setValues({ key: cond.key, list: [] }),
    );
    return () => {
      live = false;
    };
  }, [cond?.key, open, rangeKey]);

  const suggestions = useMemo(() => {
    if (cond) {
      if (values.key !== cond.key) return [];
      const v = cond.value.toLowerCase();
      return values.list
        .filter((x) => x.toLowerCase().includes(v))
        .slice(0, 50)
        .map((x) => ({ label: x, value: `${cond.key}${cond.op}${x}`, complete: true }));
    }
    const t = text.trim().toLowerCase();
    return names
      .filter((n) => n.toLowerCase().includes(t))
      .sort((a, b) => Number(!a.toLowerCase().startsWith(t)) - Number(!b.toLowerCase().startsWith(t)))
      .slice(0, 50)
      .map((n) => ({ label: n, value: `${n}=`, complete: false }));
  }, [text, names, values, cond?.key]);

  const add = (s: string) => {
    const c = s.trim();
    if (!c || !splitCondition(c)) return;
    if (!tags.includes(c)) onChange([...tags, c]);
    setText('');
    setActive(-1);
    setOpen(false);
  };
  const pick = (i: number) => {
    const s = suggestions[i];
    if (!s) return;
    if (s.complete) add(s.value);
    else {
      setText(s.value);
      setActive(-1);
      input.current?.focus();
    }
  };

  return (
    <div class="taginput">
      {tags.map((t) => (
        <span class="tag" data-testid="tag">
          <code>{t}</code>
          <button type="button" aria-label={`Remove ${t}`} onClick={() => onChange(tags.filter((x) => x !== t))}>
            ×
          </button>
        </span>
      ))}
      <div class="taginput-field">
        <input
          ref={input}
          value={text}
          data-testid="tag-input"
          aria-label="Attribute condition"
          placeholder={tags.length ? 'add condition…' : 'http.response.status_code=500, error=true, url.path=~/api/.*'}
          onFocus={() => setOpen(true)}
          onBlur={() => setTimeout(() => setOpen(false), 150)}
          onInput={(e) => {
            setText((e.target as HTMLInputElement).value);
            setActive(-1);
            setOpen(true);
          }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') {
              e.preventDefault();
              setActive((a) => Math.min(suggestions.length - 1, a + 1));
            } else if (e.key === 'ArrowUp') {
              e.preventDefault();
              setActive((a) => Math.max(-1, a - 1));
            } else if (e.key === 'Enter') {
              if (active >= 0) {
                e.preventDefault();
                pick(active);
              } else if (text.trim()) {
                e.preventDefault();
                add(text);
              }
            } else if (e.key === 'Escape') {
              setOpen(false);
            } else if (e.key === 'Backspace' && !text && tags.length) {
              onChange(tags.slice(0, -1));
            }
          }}
        />
        {open && suggestions.length > 0 && (
          <ul class="suggest" role="listbox">
            {suggestions.map((s, i) => (
              <li
                role="option"
                aria-selected={i === active}
                class={i === active ? 'active' : ''}
                onMouseDown={(e) => {
                  e.preventDefault();
                  pick(i);
                }}
              >
                {s.label}
              </li>
            ))}
          </ul>
        )}
      </div>
      {text && cond === null && <span class="hint">key=value, key!=value, key=~regex</span>}
    </div>
  );
}
