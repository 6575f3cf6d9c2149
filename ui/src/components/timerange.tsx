import { useState } from 'preact/hooks';
import { PRESETS, rangeBounds, rangeLabel, toLocalInput, type TimeRange } from '../lib/timerange';

interface Props {
  value: TimeRange;
  onChange: (r: TimeRange) => void;
  allowAll?: boolean;
}

/** Preset lookbacks plus a custom absolute range. */
export function TimeRangePicker({ value, onChange, allowAll }: Props) {
  const custom = !!(value.start || value.end);
  const [editing, setEditing] = useState(custom);
  const [from, to] = rangeBounds(value);
  const [fromInput, setFrom] = useState(toLocalInput(from));
  const [toInput, setTo] = useState(toLocalInput(to));
  const selectValue = custom || editing ? 'custom' : (value.lookback ?? '1h');
  return (
    <div class="timerange">
      <select
        aria-label="Time range"
        data-testid="timerange"
        value={selectValue}
        onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          if (v === 'custom') {
            const [f, t] = rangeBounds(value);
            setFrom(toLocalInput(f));
            setTo(toLocalInput(t));
            setEditing(true);
          } else {
            setEditing(false);
            onChange({ lookback: v });
          }
        }}
      >
        {allowAll && <option value="all">All time</option>}
        {PRESETS.map((p) => (
          <option value={p.value}>{p.label}</option>
        ))}
        {!PRESETS.some((p) => p.value === value.lookback) && value.lookback && value.lookback !== 'all' && !custom && (
          <option value={value.lookback}>Last {value.lookback}</option>
        )}
        <option value="custom">{custom ? rangeLabel(value) : 'Custom range…'}</option>
      </select>
      {(editing || custom) && (
        <span class="timerange-custom">
          <input type="datetime-local" aria-label="From" value={fromInput} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
          <span>→</span>
          <input type="datetime-local" aria-label="To" value={toInput} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
          <button
            type="button"
            onClick={() => {
              const f = Date.parse(fromInput);
              const t = Date.parse(toInput);
              if (Number.isNaN(f) || Number.isNaN(t) || f >= t) return;
              onChange({ start: new Date(f).toISOString(), end: new Date(t).toISOString() });
            }}
          >
            Apply
          </button>
        </span>
      )}
    </div>
  );
}

