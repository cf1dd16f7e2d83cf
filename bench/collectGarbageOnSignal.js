/* global process, global */
// Preloaded (`node --expose-gc --require`) into a benchmark's server process: SIGUSR2 runs a full
// garbage collection and writes the memory in use after it as one line on stderr
// (`bench-memory {...}`), so that the benchmark reads live memory, not garbage.
'use strict';
process.on('SIGUSR2', () => {
  global.gc?.();
  process.stderr.write(`bench-memory ${JSON.stringify(process.memoryUsage())}\n`);
});
