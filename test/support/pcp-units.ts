// PCP's own rendering of units (pmUnitsStr, as pminfo -d prints it), so a test can state the
// exact text PCP must show for units it set: formatUnits, with pminfo's "none".

import { formatUnits, type Units } from '../../src/mmv/units';

/** pmUnitsStr as PCP 6 prints it: formatUnits, and "none" for no units. */
export function pmUnitsStr(u: Units): string {
  return formatUnits(u) || 'none';
}
