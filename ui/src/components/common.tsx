import type { ComponentChildren } from 'preact';
import { ApiError, statusText } from '../api/client';
import { serviceColor } from '../trace/colors';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorBox({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  let status = '';
  let message = '';
  if (error instanceof ApiError) {
    status = error.status ? `${error.status} ${statusText(error.status)}` : statusText(0);
    message = error.message;
  } else if (error instanceof Error) {
    message = error.message;
  } else {
    message = String(error);
  }
  return (
    <div class="error-box" role="alert" data-testid="error">
      <div class="error-title">
        {title ?? 'Something went wrong'}
        {status && <span class="error-status">{status}</span>}
      </div>
      <pre class="error-message">{message}</pre>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty" data-testid="empty">
      <div class="empty-title">{title}</div>
      {children && <div class="empty-body">{children}</div>}
    </div>
  );
}

export function NoDataHint() {
  return (
    <>
      Point an OpenTelemetry exporter at <code>:4317</code> (OTLP gRPC) or <code>:4318</code> (OTLP HTTP,{' '}
      <code>POST /v1/traces</code>) or a Zipkin client at <code>:9411</code>, or run <code>tracewell demo</code> for a
      demo shop that sends its traces here (<code>tracewell loadgen</code> generates synthetic load).
    </>
  );
}

export function ServiceDot({ name }: { name: string }) {
  return <span class="svc-dot" style={{ background: serviceColor(name) }} />;
}

export function ServiceChip({ name, count, errors }: { name: string; count?: number; errors?: number }) {
  return (
    <span class="chip" title={name} style={{ '--svc': serviceColor(name) }}>
      <ServiceDot name={name} />
      <span class="chip-name">{name}</span>
      {count !== undefined && <span class="chip-count">{count}</span>}
      {!!errors && <span class="chip-err">{errors}!</span>}
    </span>
  );
}

export function Stat({ label, value, testid, raw, tone }: { label: string; value: ComponentChildren; testid?: string; raw?: number | string | null; tone?: 'error' | 'warn' }) {
  return (
    <div class={`stat ${tone ?? ''}`} data-testid={testid} data-raw={raw === undefined || raw === null ? undefined : String(raw)}>
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}
