// The floor `npm run bench` measures the services' stack against: a bare Fastify app (no logger,
// metrics, probes, load shedding or problem handlers) answering GET /inventory/:product_id with
// the same row from the same SQLite file through one prepared node:sqlite statement.
//   node scripts/bare-app.mjs <path to inventory.db> <port>
import { DatabaseSync } from 'node:sqlite';
import Fastify from 'fastify';

const [file, port] = process.argv.slice(2);
const db = new DatabaseSync(file, { timeout: 5000 });
db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
const product = db.prepare('SELECT product_id, name, available, reserved FROM products WHERE product_id = ?');

const app = Fastify({ logger: false });
app.get('/inventory/:product_id', async (request, reply) => {
  const row = product.get(request.params.product_id);
  return row ?? reply.code(404).send({ title: 'Not Found' });
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => db.close()));
