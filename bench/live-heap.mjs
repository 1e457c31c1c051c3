// Preloaded into a measured process (`node --import`): after each major collection, the heap still in use, which is
// what the process keeps rather than garbage V8 has not collected yet. Prints the largest as `live-heap <MiB>` on
// stderr at exit. No collection is forced, so the process's RSS is measured as it would be without this.
import { constants, PerformanceObserver } from 'node:perf_hooks';

let largest = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      largest = Math.max(largest, process.memoryUsage().heapUsed);
    }
  }
}).observe({ entryTypes: ['gc'] });
process.on('exit', () => process.stderr.write(`live-heap ${(largest / 2 ** 20).toFixed(1)}\n`));
