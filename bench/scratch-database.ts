import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { withDatabase } from '../src/db/connection.ts';

/**
 * A throw-away database for one benchmark run: on the server of DATABASE_URL, or on an
 * embedded server started for the run. `run` gets its URL and a connected client; the
 * database, the roles named in `roles` (which the policy created) and the embedded server
 * are gone afterwards, whatever happened.
 */
export async function withScratchDatabase(prefix: string, roles: readonly string[], run: (url: string, client: pg.Client) => Promise<void>): Promise<void> {
  let server: EmbeddedServer | undefined;
  let base = process.env.DATABASE_URL;
  if (!base) {
    server = await startEmbeddedPostgres();
    base = server.url;
  }
  const dbName = `${prefix}_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = withDatabase(base, dbName);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await run(url, client);
  } finally {
    await client.end();
    await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`).catch(() => {});
    for (const role of roles) await admin.query(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin.end();
    await server?.stop();
  }
}
