// The emulator benchmark's baseline: a node:http server that reads each request's body and answers the emulator's
// success JSON, doing nothing else. Prints its URL as its first line of stdout, like `kosmo-vero emulator`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const SUCCESS = JSON.stringify({ status: 200, message: 'Success.' });

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(SUCCESS),
    });
    res.end(SUCCESS);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2\n`);
});
process.once('SIGTERM', () => process.exit(0));
