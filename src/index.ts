// The public surface of pcp-agent: everything a user imports comes from here.

export type { ErrorCode } from './errors';
export { PcpAgentError } from './errors';
export type { PcpTmpDir } from './file/paths';
export { findPcpTmpDir, mmvDir } from './file/paths';
export type { SpaceScale, TimeScale } from './mmv/units';
export {
  checkUnits,
  decodeUnits,
  encodeUnits,
  formatUnits,
  makeUnits,
  NO_UNITS,
  Units,
} from './mmv/units';
