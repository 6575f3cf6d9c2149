// A small History-API router: the path and query string are the application state.

import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

function notify() {
  for (const l of [...listeners]) l();
}

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  const before = location.pathname;
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  if (!opts.replace && location.pathname !== before) window.scrollTo(0, 0);
  notify();
}

/** Replaces the query string (keeping the path) without adding a history entry. */
export function replaceQuery(q: URLSearchParams) {
  const s = q.toString();
  const to = location.pathname + (s ? `?${s}` : '') + location.hash;
  if (to !== location.pathname + location.search + location.hash) history.replaceState(null, '', to);
}

export interface Route {
  path: string;
  query: URLSearchParams;
  search: string;
}

export function currentRoute(): Route {
  return { path: location.pathname, query: new URLSearchParams(location.search), search: location.search };
}

export function useRoute(): Route {
  const [, force] = useState(0);
  useEffect(() => {
    const l = () => force((x) => x + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return currentRoute();
}

let installed = false;

/** Routes clicks on same-origin links through the router. */
export function installLinkHandler() {
  if (installed) return;
  installed = true;
  window.addEventListener('popstate', notify);
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || !a.href || a.target || a.hasAttribute('download') || a.origin !== location.origin) return;
    if (a.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(a.pathname + a.search + a.hash);
  });
}

/** Builds a URL with a query string from a record; empty values are left out. */
export function href(path: string, params: Record<string, string | string[] | number | undefined | null | false>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === false || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}
