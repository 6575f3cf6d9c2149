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

/** A TraceQL value: numbers, strings and booleans as themselves, durations in nanoseconds, enums by name. */
export type TraceqlValue = string | number | boolean | null;

export interface TraceqlAttribute {
  key: string;
  value: TraceqlValue;
}

export interface TraceqlSpan extends MatchedSpan {
  /** Values of select(). */
  attributes: TraceqlAttribute[];
}

export interface SpanSet {
  matched: number;
  /** by() and aggregate values of the set. */
  attributes: TraceqlAttribute[];
  spans: TraceqlSpan[];
}

/** /api/v1/traceql for a search query. */
export interface TraceqlSearchResponse {
  traces: (TraceSummary & { spanSets: SpanSet[] })[];
  inspectedTraces: number;
  metrics: SearchResponse['metrics'];
  /** `limit` traces matched before every candidate was evaluated: more may match. */
  limitHit: boolean;
  /** Why the answer may be incomplete, if it may be. */
  cut: string | null;
}

/** /api/v1/traceql for a metrics query: one series per by() group, points at unix ns. */
export interface TraceqlMetricsResponse {
  series: { labels: TraceqlAttribute[]; points: [string, number][] }[];
  stepNano: number;
  inspectedSpans: number;
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

// ---- diagnosis (docs/diagnosis.md) ----

export type FindingKind = 'latency' | 'errors' | 'new_error' | 'n_plus_one' | 'queue_backlog' | 'dead_letters' | 'throughput_drop';

/** Figures of a finding: p50Ms, p90Ms, p99Ms, errorRate, ratePerSecond, selfTimeMs, count, lagMs, perMinute, ... */
export type Figures = Record<string, number | null>;

export interface Finding {
  /** One of FindingKind; newer servers may add kinds. */
  kind: string;
  service: string;
  operation: string;
  spanKind?: string | null;
  score: number;
  /** Onset estimate, unix nanoseconds. */
  since: string;
  summary: string;
  /** Key of baseline/current charted by series. */
  metric: string;
  baseline: Figures;
  current: Figures;
  series: { time: string; value: number | null }[];
  exemplars: { traces: string[]; baseline: string | null };
  affected: { service: string; operation: string }[];
  details: Record<string, unknown>;
}

export interface InsightsResponse {
  windowStart: string;
  windowEnd: string;
  baselineStart: string;
  analyzed: { operations: number; traces: number };
  findings: Finding[];
}

export interface BreakdownOperation {
  service: string;
  operation: string;
  spans: number;
  selfTimeMs: number;
  selfTimeShare: number;
  criticalPathMs: number;
  criticalPathShare: number;
  meanSelfMs: number;
}

export interface BreakdownAttribute {
  key: string;
  value: string;
  group: 'slow' | 'error' | string;
  inGroup: number;
  inRest: number;
  groupTraces: number;
  restTraces: number;
}

export interface BreakdownResponse {
  traces: number;
  slowThresholdMs: number | null;
  slowTraces: number;
  errorTraces: number;
  operations: BreakdownOperation[];
  attributes: BreakdownAttribute[];
}

/** /api/v1/heatmap: matching spans per time bucket and logarithmic duration bucket. */
export interface HeatmapResponse {
  startUnixNano: string;
  endUnixNano: string;
  /** Width of a time bucket. */
  stepNano: string;
  /** Upper edge of each duration bucket (the last one also takes longer spans). */
  durationBoundsNano: number[];
  /** counts[t][d]: spans starting in time bucket t with a duration in (bounds[d-1], bounds[d]]. */
  counts: number[][];
  total: number;
  maxCount: number;
  inspectedSpans: number;
}

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface AlertRule {
  name: string;
  type: 'threshold' | 'finding' | string;
  description: string;
  state: AlertState | string;
  activeSince: string | null;
  value: number | null;
  lastEvaluation: string | null;
  /** Why the last evaluation failed, if it did. */
  lastError?: string | null;
  summary: string | null;
  exemplars: string[];
  labels?: Record<string, string>;
  /** For `finding` rules: the finding that made it fire. */
  finding?: Finding | null;
}

export interface AlertTransition {
  time: string;
  rule: string;
  from: string;
  to: string;
  value: number | null;
  summary: string | null;
}

export interface AlertNotifier {
  name: string;
  url: string;
  format: string;
  sent: number;
  failed: number;
  dropped: number;
  queued: number;
}

export interface AlertsResponse {
  /** null when the server runs without a rules file. */
  evaluationIntervalMs: number | null;
  rules: AlertRule[];
  history: AlertTransition[];
  notifiers: AlertNotifier[];
}

/** One log record as /api/v1/logs and /api/v1/traces/{id}/logs return it. */
export interface LogLine {
  /** RFC 3339 with nanoseconds. */
  time: string;
  timeUnixNano: string;
  /** 0 (unset) to 24; 1–4 TRACE, 5–8 DEBUG, 9–12 INFO, 13–16 WARN, 17–20 ERROR, 21–24 FATAL. */
  severityNumber: number;
  severityText: string;
  body: string;
  service: string;
  traceId: string | null;
  spanId: string | null;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
  scope: string;
  eventName: string;
}

export interface LogsResponse {
  /** Oldest first for a trace, newest first for a search. */
  logs: LogLine[];
  /** More records matched than the limit. */
  truncated: boolean;
}
