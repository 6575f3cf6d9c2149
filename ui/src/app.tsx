import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { navigate, useRoute } from './lib/router';
import { resolvedTheme, setTheme, themeChoice, onThemeChange, type ThemeChoice } from './lib/theme';
import { get, setTenant, setToken, tenant, token } from './api/client';
import { UNAUTHORIZED_EVENT } from './api/auth';
import { ErrorBox, Loading } from './components/common';
import { SearchPage } from './pages/search';
import { isTraceId } from './api/trace';

type PageModule = { default: ComponentType<{ params: Record<string, string> }> };

const pages: Record<string, () => Promise<PageModule>> = {
  insights: () => import('./pages/insights'),
  alerts: () => import('./pages/alerts'),
  live: () => import('./pages/live'),
  logs: () => import('./pages/logs'),
  trace: () => import('./pages/trace'),
  compare: () => import('./pages/compare'),
  map: () => import('./pages/map'),
  services: () => import('./pages/services'),
  sql: () => import('./pages/sql'),
};

function match(path: string): { page: string; params: Record<string, string> } {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'home', params: {} };
  if (parts[0] === 'search' && parts.length === 1) return { page: 'search', params: {} };
  if (parts[0] === 'insights' && parts.length === 1) return { page: 'insights', params: {} };
  if (parts[0] === 'alerts' && parts.length === 1) return { page: 'alerts', params: {} };
  if (parts[0] === 'live' && parts.length === 1) return { page: 'live', params: {} };
  if (parts[0] === 'logs' && parts.length === 1) return { page: 'logs', params: {} };
  if (parts[0] === 'trace' && parts.length === 2) return { page: 'trace', params: { id: parts[1] } };
  if (parts[0] === 'compare' && parts.length <= 3) return { page: 'compare', params: { a: parts[1] ?? '', b: parts[2] ?? '' } };
  if (parts[0] === 'map' && parts.length === 1) return { page: 'map', params: {} };
  if (parts[0] === 'services' && parts.length <= 2) return { page: 'services', params: { service: parts[1] ?? '' } };
  if (parts[0] === 'sql' && parts.length === 1) return { page: 'sql', params: {} };
  return { page: 'notfound', params: {} };
}

const loaded = new Map<string, PageModule>();

function Lazy({ name, params }: { name: string; params: Record<string, string> }) {
  const [mod, setMod] = useState<PageModule | undefined>(loaded.get(name));
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (loaded.has(name)) {
      setMod(loaded.get(name));
      return;
    }
    setMod(undefined);
    let live = true;
    pages[name]().then(
      (m) => {
        loaded.set(name, m);
        if (live) setMod(m);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [name]);
  if (error) return <ErrorBox error={error} title="Could not load this page" />;
  if (!mod) return <Loading />;
  const Page = mod.default;
  return <Page params={params} />;
}

function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>(themeChoice());
  const [, force] = useState(0);
  useEffect(() => onThemeChange(() => force((x) => x + 1)), []);
  const next: Record<ThemeChoice, ThemeChoice> = { auto: resolvedTheme() === 'dark' ? 'light' : 'dark', light: 'dark', dark: 'light' };
  const icon = resolvedTheme() === 'dark' ? '☾' : '☀';
  return (
    <span class="theme-toggle">
      <button
        type="button"
        class="icon-btn"
        data-testid="theme-toggle"
        title={`Theme: ${choice} (click for ${next[choice]}; right-click to follow the system)`}
        aria-label="Toggle theme"
        onClick={() => {
          const n = next[choice];
          setTheme(n);
          setChoice(n);
        }}
        onContextMenu={(e) => {
          e.preventDefault();
          setTheme('auto');
          setChoice('auto');
        }}
      >
        {icon}
      </button>
    </span>
  );
}

function TenantField() {
  const [value, setValue] = useState(tenant());
  return (
    <input
      class="tenant"
      aria-label="Tenant"
      title="Tenant (X-Scope-OrgID); empty for the default tenant"
      placeholder="tenant"
      value={value}
      onChange={(e) => {
        const v = (e.target as HTMLInputElement).value.trim();
        setValue(v);
        setTenant(v);
        navigate(location.pathname + location.search, { replace: true });
        location.reload();
      }}
    />
  );
}

/** With a token the token decides the tenant; this forgets it (and asks again on the next 401). */
function ForgetToken() {
  return (
    <button
      type="button"
      class="forget-token"
      data-testid="forget-token"
      title="Forget the API token kept in this browser"
      onClick={() => {
        setToken('');
        location.reload();
      }}
    >
      Sign out
    </button>
  );
}

/**
 * Asks for an API token when the server answers 401 (it runs with --auth-tokens). The token is kept in
 * localStorage and sent as `Authorization: Bearer` from then on; the page reloads to use it.
 */
function TokenGate() {
  const [refusal, setRefusal] = useState<string | null>(null);
  const [value, setValue] = useState('');
  useEffect(() => {
    const on = (e: Event) => setRefusal((e as CustomEvent<string>).detail ?? '');
    window.addEventListener(UNAUTHORIZED_EVENT, on);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, on);
  }, []);
  if (refusal === null) return null;
  const had = token() !== '';
  return (
    <div class="token-gate" role="dialog" aria-modal="true" aria-labelledby="token-title" data-testid="token-form">
      <form
        class="card token-card"
        onSubmit={(e) => {
          e.preventDefault();
          const v = value.trim();
          if (!v) return;
          setToken(v);
          location.reload();
        }}
      >
        <h2 id="token-title">This server requires a token</h2>
        {had && (
          <p class="token-refused" data-testid="token-refused">
            The saved token was refused: {refusal || 'unauthorized'}.
          </p>
        )}
        <p class="muted">
          Enter an API token with the <code>read</code> scope. It is kept in this browser and sent as <code>Authorization: Bearer</code> with
          every request; the token decides the tenant.
        </p>
        <input
          type="password"
          autoFocus
          autoComplete="off"
          aria-label="API token"
          placeholder="API token"
          data-testid="token-input"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
        />
        <button type="submit" class="primary" data-testid="token-save" disabled={!value.trim()}>
          Use this token
        </button>
      </form>
    </div>
  );
}

function TraceIdJump() {
  const [v, setV] = useState('');
  return (
    <form
      class="jump"
      onSubmit={(e) => {
        e.preventDefault();
        const id = v.trim();
        if (isTraceId(id)) {
          navigate(`/trace/${id.toLowerCase()}`);
          setV('');
        }
      }}
    >
      <input
        aria-label="Go to trace id"
        placeholder="Trace ID…"
        value={v}
        onInput={(e) => setV((e.target as HTMLInputElement).value)}
        class={v && !isTraceId(v) ? 'invalid' : ''}
      />
    </form>
  );
}

const NAV = [
  { href: '/insights', label: 'Insights', page: 'insights' },
  { href: '/search', label: 'Search', page: 'search' },
  { href: '/live', label: 'Live', page: 'live' },
  { href: '/logs', label: 'Logs', page: 'logs' },
  { href: '/map', label: 'Service map', page: 'map' },
  { href: '/services', label: 'Services', page: 'services' },
  { href: '/alerts', label: 'Alerts', page: 'alerts' },
  { href: '/compare', label: 'Compare', page: 'compare' },
  { href: '/sql', label: 'SQL', page: 'sql' },
];

/**
 * What `/` shows: the Insights page once the server holds spans, else the search page with its
 * explanation of how to send traces. Asked again on each visit to `/`.
 */
function useLanding(active: boolean): 'loading' | 'insights' | 'search' {
  const [v, setV] = useState<'loading' | 'insights' | 'search'>('loading');
  useEffect(() => {
    if (!active) return;
    const ctl = new AbortController();
    get<{ services: string[] }>('/api/v1/services', {}, ctl.signal).then(
      (r) => setV(r.services.length > 0 ? 'insights' : 'search'),
      () => !ctl.signal.aborted && setV('search'),
    );
    return () => ctl.abort();
  }, [active]);
  return v;
}

export function App() {
  const route = useRoute();
  const matched = match(route.path);
  const landing = useLanding(matched.page === 'home');
  const { params } = matched;
  const page = matched.page === 'home' ? (landing === 'loading' ? 'home' : landing) : matched.page;
  return (
    <div class="app">
      <header class="topbar">
        <a class="brand" href="/">
          <svg width="18" height="18" viewBox="0 0 16 16" aria-hidden="true">
            <rect x="1" y="2" width="14" height="3" rx="1" fill="#3b82f6" />
            <rect x="4" y="7" width="9" height="3" rx="1" fill="#10b981" />
            <rect x="7" y="12" width="5" height="3" rx="1" fill="#f59e0b" />
          </svg>
          Tracewell
        </a>
        <nav>
          {NAV.map((n) => (
            <a href={n.href} class={page === n.page ? 'active' : ''} aria-current={page === n.page ? 'page' : undefined}>
              {n.label}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <TraceIdJump />
        {token() ? <ForgetToken /> : <TenantField />}
        <ThemeToggle />
      </header>
      <TokenGate />
      <main class={`page page-${page}`}>
        {page === 'home' ? (
          <Loading />
        ) : page === 'search' ? (
          <SearchPage />
        ) : page === 'notfound' ? (
          <div class="notfound">
            <h1>Page not found</h1>
            <p>
              Nothing lives at <code>{route.path}</code>. Try the <a href="/search">search page</a>.
            </p>
          </div>
        ) : (
          <Lazy key={page} name={page} params={params} />
        )}
      </main>
    </div>
  );
}
