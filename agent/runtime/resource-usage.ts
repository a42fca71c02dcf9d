// CPU time, context switches and page faults from one process.resourceUsage() per flush (the
// same getrusage() as process.cpuUsage()). Owns runtime.cpu.{user,system} (usec),
// runtime.context_switches.{voluntary,involuntary} and runtime.page_faults.{minor,major}:
// totals since the process started, counters.

import { Units } from '../../src/index';
import { type CollectorDefinition, declareOnce } from './collector';

export const resourceUsageCollector: CollectorDefinition = {
  name: 'resource-usage',
  start({ registry }) {
    const m = declareOnce(registry, 'resource-usage', () => {
      const total = (name: string, units: Units, help: string) =>
        registry.metric(name, { type: 'u64', semantics: 'counter', units, help });
      const usec = Units.time('usec');
      const count = Units.count();
      return {
        user: total('runtime.cpu.user', usec, 'CPU time of the process in user mode'),
        system: total('runtime.cpu.system', usec, 'CPU time of the process in the kernel'),
        voluntary: total(
          'runtime.context_switches.voluntary',
          count,
          'Context switches because the process waited (I/O, a lock)',
        ),
        involuntary: total(
          'runtime.context_switches.involuntary',
          count,
          'Context switches because the kernel preempted the process',
        ),
        minorFaults: total(
          'runtime.page_faults.minor',
          count,
          'Page faults served without I/O (minor)',
        ),
        majorFaults: total(
          'runtime.page_faults.major',
          count,
          'Page faults that needed I/O (major)',
        ),
      };
    });
    return {
      sample() {
        const r = process.resourceUsage();
        m.user.set(r.userCPUTime);
        m.system.set(r.systemCPUTime);
        m.voluntary.set(r.voluntaryContextSwitches);
        m.involuntary.set(r.involuntaryContextSwitches);
        m.minorFaults.set(r.minorPageFault);
        m.majorFaults.set(r.majorPageFault);
      },
      stop() {},
    };
  },
};
