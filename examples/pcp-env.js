// What both demos need around PCP: a directory to write the file in, and, where PCP is
// installed, what pmdammv itself serves from it (loaded in-process: no pmcd needed).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { findPcpTmpDir } = require('pcp-agent');

const PMDA = '/var/lib/pcp/pmdas/mmv/pmda_mmv.so';

/**
 * Where PCP looks ($PCP_TMP_DIR/mmv); if that directory is not ours to write (PCP
 * installed, not root), a private PCP_TMP_DIR so the demo still runs.
 */
function pickDir() {
  const tmp = findPcpTmpDir();
  const dir = path.join(tmp.dir, 'mmv');
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return { pcpTmpDir: tmp.dir, dir };
  } catch {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-demo-'));
    fs.mkdirSync(path.join(own, 'mmv'));
    return { pcpTmpDir: own, dir: path.join(own, 'mmv') };
  }
}

/** Prints `pminfo -f <metric>` with pmdammv in-process, or says PCP is not installed. */
function showWithPcp(pcpTmpDir, metric) {
  const which = spawnSync('sh', ['-c', 'command -v pminfo'], { encoding: 'utf8' });
  if (which.status !== 0 || !fs.existsSync(PMDA)) {
    console.log(`\nPCP is not installed here; with PCP, \`pminfo -f ${metric}\` shows the same.`);
    return;
  }
  const pmns = path.join(os.tmpdir(), 'pcp-agent-demo-pmns');
  fs.writeFileSync(pmns, 'root {\n\tmmv\t70:*:*\n}\n');
  const args = ['-n', pmns, '-L', '-K', 'clear', '-K', `add,70,${PMDA},mmv_init`, '-f', metric];
  const out = spawnSync('pminfo', args, {
    encoding: 'utf8',
    env: { ...process.env, PCP_TMP_DIR: pcpTmpDir },
  });
  console.log(`\nAnd what real PCP serves from it (pminfo -f ${metric}, pmdammv in-process):`);
  process.stdout.write(out.stdout || out.stderr);
}

module.exports = { pickDir, showWithPcp };
