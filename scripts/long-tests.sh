#!/usr/bin/env bash
# The long variants of the bad-input and sustained-load tests, run outside CI (CI runs short
# ones): 100,000 mutated MMV files through the reader and `pcp-agent dump`, 20,000 generated
# metric sets checked with our reader and 2,000 with real PCP, and a 2-minute soak.
# Any variable below can be set to override it; the seed is printed so a failure can be replayed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pminfo >/dev/null || [ ! -r /var/lib/pcp/pmdas/mmv/pmda_mmv.so ]; then
  echo "long-tests: real PCP is needed (pminfo and pmdammv); see .ci/install-pcp" >&2
  exit 1
fi

export PCP_AGENT_FUZZ_CASES="${PCP_AGENT_FUZZ_CASES:-100000}"
export PCP_AGENT_FUZZ_API_LOCAL_RUNS="${PCP_AGENT_FUZZ_API_LOCAL_RUNS:-20000}"
export PCP_AGENT_FUZZ_API_RUNS="${PCP_AGENT_FUZZ_API_RUNS:-2000}"
export PCP_AGENT_SOAK_SECONDS="${PCP_AGENT_SOAK_SECONDS:-120}"
# A new seed each run (CI always uses the same one); replay a failure with the one printed.
export PCP_AGENT_FUZZ_SEED="${PCP_AGENT_FUZZ_SEED:-$(( $(date +%s) % 2147483647 ))}"

echo "long-tests: PCP_AGENT_FUZZ_SEED=$PCP_AGENT_FUZZ_SEED PCP_AGENT_FUZZ_CASES=$PCP_AGENT_FUZZ_CASES" \
  "PCP_AGENT_FUZZ_API_LOCAL_RUNS=$PCP_AGENT_FUZZ_API_LOCAL_RUNS PCP_AGENT_FUZZ_API_RUNS=$PCP_AGENT_FUZZ_API_RUNS" \
  "PCP_AGENT_SOAK_SECONDS=$PCP_AGENT_SOAK_SECONDS"
# The soak spawns an app under the agent from dist/, and the fuzz runs the built binary.
npm run build --silent
# One file at a time: the soak's steady rate is not shared with a fuzzer on the same cores.
exec npx vitest run --maxWorkers=1 test/fuzz-reader.test.ts test/fuzz-api.test.ts test/registry-crosstalk.test.ts test/soak.test.ts
