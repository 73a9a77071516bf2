// `npm run bench`: the benchmark harness. The measurements arrive with the ingest pipeline (issue #3)
// and the full harness (issue #8); until then this says so instead of printing invented figures.
console.error('npm run bench: no benchmark is built yet (ingest benchmark: issue #3; full harness: issue #8).');
process.exit(64);
