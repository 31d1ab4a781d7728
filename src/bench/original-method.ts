import mysql from 'mysql2/promise';
import type { MldbConfig } from '../config';
import { translateDbError } from '../db/pool';

/**
 * The Python original's InsertData2Table, kept as the import benchmark's baseline: its own
 * table `(lable INT, picdata BLOB, datasize INT)`, one INSERT per file (mysql2 execute, a
 * prepared statement), one commit at the end. Never used by mldb itself.
 */
export async function insertLikeTheOriginal(
  config: MldbConfig,
  files: AsyncIterable<{ label: string; bytes: Buffer }> | Iterable<{ label: string; bytes: Buffer }>,
): Promise<number> {
  const conn = await mysql
    .createConnection({
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password.reveal(),
      database: config.database,
    })
    .catch((e: unknown) => {
      throw translateDbError(e, config);
    });
  try {
    await conn.query('DROP TABLE IF EXISTS orig_method');
    await conn.query('CREATE TABLE orig_method (lable INT, picdata BLOB, datasize INT)');
    let n = 0;
    await conn.beginTransaction();
    for await (const f of files) {
      await conn.execute('INSERT INTO orig_method (lable, picdata, datasize) VALUES (?, ?, ?)', [
        Number(f.label),
        f.bytes,
        20,
      ]);
      n++;
    }
    await conn.commit();
    return n;
  } finally {
    await conn.end();
  }
}
