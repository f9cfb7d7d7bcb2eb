/**
 * Reproducible random samples for the statistics tests.
 *
 * @module
 */

/**
 * Standard normal draws from a seeded PRNG (mulberry32, Box–Muller), so a
 * test that draws thousands of samples gives the same result every run.
 *
 * @param seed Any integer.
 * @returns A function returning the next N(0, 1) draw.
 */
export function normals(seed: number): () => number {
  let state = seed;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() || 1e-12)) * Math.cos(2 * Math.PI * uniform());
}
