// PCP's own rendering of units (pmUnitsStr, as pminfo -d prints it), so a test can state the
// exact text PCP must show for units it set. Differs from src/mmv/units.ts formatUnits.

import type { Units } from '../../src/mmv/units';

/** pmUnitsStr as PCP 6 prints it: "count x 10" for scale 1, "/ sec" with nothing above. */
export function pmUnitsStr(u: Units): string {
  const space = ['byte', 'Kbyte', 'Mbyte', 'Gbyte', 'Tbyte', 'Pbyte', 'Ebyte'][u.scaleSpace]!;
  const time = ['nanosec', 'microsec', 'millisec', 'sec', 'min', 'hour'][u.scaleTime]!;
  const count =
    u.scaleCount === 0 ? 'count' : u.scaleCount === 1 ? 'count x 10' : `count x 10^${u.scaleCount}`;
  const up: string[] = [];
  const down: string[] = [];
  for (const [label, dim] of [
    [space, u.dimSpace],
    [time, u.dimTime],
    [count, u.dimCount],
  ] as const) {
    const s = Math.abs(dim) === 1 ? label : `${label}^${Math.abs(dim)}`;
    if (dim > 0) up.push(s);
    if (dim < 0) down.push(s);
  }
  if (up.length === 0 && down.length === 0) return 'none';
  if (down.length === 0) return up.join(' ');
  return up.length === 0 ? `/ ${down.join(' ')}` : `${up.join(' ')} / ${down.join(' ')}`;
}
