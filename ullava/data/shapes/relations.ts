// Spatial relations between two shapes of a scene, by their centres. A relation is asserted ("strict")
// only when it is clear: the offset along its axis is the larger one and at least a margin. Ambiguity
// checks use the loose form (any offset past a small margin), so an expression never picks one shape when
// a person could read it as another.
import type { Shape } from './scene.js';

export const RELATIONS = ['left of', 'right of', 'above', 'below'] as const;
export type Relation = typeof RELATIONS[number];

function offset(rel: Relation, t: Shape, a: Shape): { along: number; across: number } {
  const dx = t.cx - a.cx, dy = t.cy - a.cy;
  switch (rel) {
    case 'left of': return { along: -dx, across: Math.abs(dy) };
    case 'right of': return { along: dx, across: Math.abs(dy) };
    case 'above': return { along: -dy, across: Math.abs(dx) };
    case 'below': return { along: dy, across: Math.abs(dx) };
  }
}

/** `t` is clearly `rel` `a`: along the relation's axis by more than the across offset and by `margin` pixels. */
export function holdsStrictly(rel: Relation, t: Shape, a: Shape, margin: number): boolean {
  const o = offset(rel, t, a);
  return o.along > margin && o.along > o.across;
}

/** `t` could be read as `rel` `a` (any offset past a few pixels along the axis). */
export function holdsLoosely(rel: Relation, t: Shape, a: Shape): boolean {
  return offset(rel, t, a).along > 2;
}

export function opposite(rel: Relation): Relation {
  return ({ 'left of': 'right of', 'right of': 'left of', above: 'below', below: 'above' } as const)[rel];
}
