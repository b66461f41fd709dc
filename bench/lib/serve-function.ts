/**
 * Serves one function's real entry point over HTTP, as Cloud Run would, in its own process (so a
 * benchmark can measure its memory): `node bench/lib/serve-function.ts aggregator`. Prints
 * `listening <port>` when ready. Configuration comes from the environment, like in the cloud.
 */
import type { AddressInfo } from 'node:net';

const name = process.argv[2];
if (name !== 'aggregator' && name !== 'dispatcher' && name !== 'api') {
  console.error('usage: serve-function.ts aggregator|dispatcher|api');
  process.exit(2);
}
await import(`../../functions/${name}/index.ts`);
const { getTestServer } = await import('@google-cloud/functions-framework/testing');
const server = getTestServer(name);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
