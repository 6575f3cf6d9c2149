// Shapes of the native API's answers (see crates/tracewell-api/openapi.json).

export interface ServiceCount {
  name: string;
  spans: number;
  errors: number;
}

export interface MatchedSpan {
  spanId: string;
  service: string;
  name: string;
  startTimeUnixNano: string;
  durationNano: number;
  status: 'ok' | 'error' | 'unset';
}

export interface TraceSummary {
  traceId: string;
  rootService: string | null;
  rootOperation: string | null;
  startTimeUnixNano: string;
  durationNano: number;
  spanCount: number;
  errorCount: number;
  services: ServiceCount[];
  matchedCount: number;
  matchedSpans: MatchedSpan[];
}

export interface SearchResponse {
  traces: TraceSummary[];
  limitHit: boolean;
  metrics: { inspectedSpans: number; inspectedBlocks: number; skippedBlocks: number; totalBlocks: number };
  warnings: string[];
}

export interface Operation {
  service: string;
  name: string;
  kind: string | null;
}

export interface TagNames {
  span: string[];
  resource: string[];
  truncated: boolean;
}

export interface TagValues {
  values: { type: string; value: string }[];
  truncated: boolean;
}

export interface RedPoint {
  timeUnixNano: string;
  time: string;
  count: number;
  errors: number;
  rate: number;
  errorRate: number;
  meanNano: number | null;
  quantilesNano: Record<string, number | null>;
}

export interface RedSeries {
  service: string;
  operation: string | null;
  total: RedPoint;
  points: RedPoint[];
}

export interface MetricsResponse {
  start: string;
  end: string;
  stepSeconds: number;
  series: RedSeries[];
}

export type NodeKind = 'service' | 'database' | 'messaging';

export interface DepNode {
  name: string;
  kind: NodeKind;
}

export interface DepEdge {
  parent: string;
  parentKind: NodeKind;
  child: string;
  childKind: NodeKind;
  calls: number;
  errors: number;
  rate: number;
  errorRate: number;
  p50Nano: number | null;
  p90Nano: number | null;
  p99Nano: number | null;
}

export interface DependenciesResponse {
  start: string;
  end: string;
  nodes: DepNode[];
  edges: DepEdge[];
}

export interface SqlResponse {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  blocksScanned?: number;
  blocksTotal?: number;
}
