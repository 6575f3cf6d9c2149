// A fixed-row-height virtual list: only the rows in view are rendered.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

interface Props {
  count: number;
  rowHeight: number;
  height: number | string;
  renderRow: (index: number) => ComponentChildren;
  testid?: string;
}

export function VirtualList({ count, rowHeight, height, renderRow, testid }: Props) {
  const el = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [viewH, setViewH] = useState(600);
  useEffect(() => {
    const e = el.current!;
    const ro = new ResizeObserver(() => setViewH(e.clientHeight));
    ro.observe(e);
    return () => ro.disconnect();
  }, []);
  const first = Math.max(0, Math.floor(top / rowHeight) - 5);
  const last = Math.min(count, Math.ceil((top + viewH) / rowHeight) + 5);
  const rows: ComponentChildren[] = [];
  for (let i = first; i < last; i++) {
    rows.push(
      <div class="vl-row" key={i} style={{ top: `${i * rowHeight}px`, height: `${rowHeight}px` }}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div class="vl" ref={el} style={{ height }} onScroll={(e) => setTop((e.target as HTMLDivElement).scrollTop)} data-testid={testid}>
      <div style={{ height: `${count * rowHeight}px`, position: 'relative' }}>{rows}</div>
    </div>
  );
}
