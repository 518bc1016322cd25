/**
 * Signed distance functions (negative inside) for the procedural bird
 * renderer, in arbitrary units, and the anti-aliased coverage derived from a
 * distance in pixels.
 */

export type Sdf = (x: number, y: number) => number;

/** Pixel coverage of a shape from its signed distance in pixels (a 1-px ramp). */
export function coverage(dPx: number): number {
  const c = 0.5 - dPx;
  return c <= 0 ? 0 : c >= 1 ? 1 : c;
}

export function circle(cx: number, cy: number, r: number): Sdf {
  return (x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    return Math.sqrt(dx * dx + dy * dy) - r;
  };
}

/** An ellipse with radii `(rx, ry)` rotated by `angle` (radians); approximate distance (exact sign). */
export function ellipse(cx: number, cy: number, rx: number, ry: number, angle = 0): Sdf {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const rmin = Math.min(rx, ry);
  const irx = 1 / rx;
  const iry = 1 / ry;
  return (x, y) => {
    const dx = x - cx;
    const dy = y - cy;
    const u = c * dx + s * dy;
    const v = -s * dx + c * dy;
    const a = u * irx;
    const b = v * iry;
    const k0 = Math.sqrt(a * a + b * b);
    const a2 = a * irx;
    const b2 = b * iry;
    const k1 = Math.sqrt(a2 * a2 + b2 * b2);
    return k1 === 0 ? -rmin : (k0 * (k0 - 1)) / k1;
  };
}

/** A convex polygon (vertices in either winding); exact inside, a lower bound outside. */
export function convexPolygon(points: readonly (readonly [number, number])[]): Sdf {
  const n = points.length;
  let mx = 0;
  let my = 0;
  for (const [px, py] of points) {
    mx += px / n;
    my += py / n;
  }
  const edges = points.map(([x0, y0], i) => {
    const [x1, y1] = points[(i + 1) % n]!;
    let nx = y1 - y0;
    let ny = -(x1 - x0);
    const len = Math.hypot(nx, ny);
    nx /= len;
    ny /= len;
    if (nx * (mx - x0) + ny * (my - y0) > 0) {
      nx = -nx;
      ny = -ny;
    }
    return [nx, ny, nx * x0 + ny * y0] as const;
  });
  const flat = Float64Array.from(edges.flat());
  return (x, y) => {
    let d = -Infinity;
    for (let i = 0; i < flat.length; i += 3) {
      const e = flat[i]! * x + flat[i + 1]! * y - flat[i + 2]!;
      if (e > d) d = e;
    }
    return d;
  };
}

/** A segment from `(ax, ay)` to `(bx, by)` thickened by radius `r`. */
export function capsule(ax: number, ay: number, bx: number, by: number, r: number): Sdf {
  const ex = bx - ax;
  const ey = by - ay;
  const ee = ex * ex + ey * ey;
  return (x, y) => {
    const px = x - ax;
    const py = y - ay;
    const t = ee === 0 ? 0 : Math.min(1, Math.max(0, (px * ex + py * ey) / ee));
    const dx = px - t * ex;
    const dy = py - t * ey;
    return Math.sqrt(dx * dx + dy * dy) - r;
  };
}

/** The half-plane `nx·x + ny·y <= c` (normal normalized internally). */
export function halfPlane(nx: number, ny: number, c: number): Sdf {
  const len = Math.hypot(nx, ny);
  return (x, y) => (nx * x + ny * y) / len - c / len;
}

export function intersect(...shapes: Sdf[]): Sdf {
  if (shapes.length === 2) {
    const [p, q] = shapes as [Sdf, Sdf];
    return (x, y) => Math.max(p(x, y), q(x, y));
  }
  return (x, y) => {
    let d = -Infinity;
    for (const s of shapes) d = Math.max(d, s(x, y));
    return d;
  };
}

export function union(...shapes: Sdf[]): Sdf {
  if (shapes.length === 2) {
    const [p, q] = shapes as [Sdf, Sdf];
    return (x, y) => Math.min(p(x, y), q(x, y));
  }
  return (x, y) => {
    let d = Infinity;
    for (const s of shapes) d = Math.min(d, s(x, y));
    return d;
  };
}
