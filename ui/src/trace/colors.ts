// Stable service colours: the same service has the same hue on every page and trace.

const cache = new Map<string, number>();

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Hue in degrees for a service name. */
export function serviceHue(name: string): number {
  let h = cache.get(name);
  if (h === undefined) {
    // 24 well-separated hues, skipping the pure reds reserved for errors.
    const slot = hash(name) % 24;
    h = (20 + slot * 15 + (hash(name + '#') % 7)) % 360;
    if (h > 345 || h < 12) h = (h + 24) % 360;
    cache.set(name, h);
  }
  return h;
}

export function serviceColor(name: string): string {
  return `hsl(${serviceHue(name)} 62% 52%)`;
}
