// Light and dark themes: follow prefers-color-scheme unless the user picked one.

export type ThemeChoice = 'auto' | 'light' | 'dark';

const KEY = 'tracewell.theme';
const listeners = new Set<() => void>();
const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;

export function themeChoice(): ThemeChoice {
  const v = localStorage.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : 'auto';
}

export function resolvedTheme(): 'light' | 'dark' {
  const c = themeChoice();
  if (c !== 'auto') return c;
  return media?.matches ? 'dark' : 'light';
}

function apply() {
  document.documentElement.dataset.theme = resolvedTheme();
  for (const l of [...listeners]) l();
}

export function setTheme(c: ThemeChoice) {
  if (c === 'auto') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, c);
  apply();
}

export function onThemeChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function initTheme() {
  media?.addEventListener?.('change', apply);
  apply();
}

/** Reads a CSS custom property of the current theme. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
