// Keys' cubic convolution kernel, the one cubic of the project: PIL's bicubic resize uses a = −0.5
// (image/resize.ts, Resample.c's bicubic_filter) and torch's bicubic interpolate a = −0.75
// (core/ops/interpolate.ts). The arithmetic is written in PIL's order, in double precision, because PIL's
// fixed-point weights are rounded from these values and must come out bit-identical.

/** W(x) = (a+2)|x|³ − (a+3)|x|² + 1 for |x| < 1, a|x|³ − 5a|x|² + 8a|x| − 4a for 1 ≤ |x| < 2, else 0. */
export function keysCubic(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}
