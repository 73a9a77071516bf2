// Baseline (a): a bare aedes broker with no authentication and no processing, on a free port.
// Run as its own process so that the load generator does not share its event loop.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const aedes = await Aedes.createBroker();
const server = createServer(aedes.handle);
server.listen(0, '127.0.0.1', () => {
  console.log(`PORT ${(server.address() as { port: number }).port}`);
});
process.on('SIGTERM', () => {
  aedes.close(() => server.close(() => process.exit(0)));
});
