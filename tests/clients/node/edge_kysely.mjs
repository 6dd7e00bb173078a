// A schema tool's view of the branch through dbplane's connection edge: Kysely's MySQL
// introspection (information_schema, filtered by DATABASE()) over mysql2; prints the
// tables and columns it finds as JSON.
import { Kysely, MysqlDialect } from "kysely";
import { createPool } from "mysql2";

const env = process.env;
const db = new Kysely({
  dialect: new MysqlDialect({
    pool: createPool({
      host: env.EDGE_HOST,
      port: Number(env.EDGE_PORT),
      user: env.EDGE_USER,
      password: env.EDGE_PASSWORD,
      database: env.EDGE_DATABASE,
      connectionLimit: 2,
    }),
  }),
});
const tables = await db.introspection.getTables();
await db.destroy();
console.log(
  JSON.stringify({
    tables: tables.map((t) => ({ schema: t.schema, name: t.name, columns: t.columns.map((c) => c.name) })),
  }),
);
