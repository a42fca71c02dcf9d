// Stable identifiers: cluster, item, indom serial and instance ids come from a hash of a name,
// so they survive restarts and re-layouts; a clash probes to the next free id, never reuses one.

/** FNV-1a over the UTF-8 bytes of a string: a 32-bit unsigned hash. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Picks an id in [min, max] for a name: its hash folded into the range, then the next free
 * id upwards (wrapping) if taken. Returns -1 when every id in the range is taken.
 */
export function allocateId(
  name: string,
  min: number,
  max: number,
  taken: ReadonlySet<number>,
): number {
  const span = max - min + 1;
  const start = fnv1a(name) % span;
  for (let k = 0; k < span; k++) {
    const id = min + ((start + k) % span);
    if (!taken.has(id)) return id;
  }
  return -1;
}
