// Kysely with kysely-planetscale over dbplane's HTTP SQL API: a typed query-builder session
// with a transaction at an isolation level. Prints a JSON summary.
import assert from "node:assert/strict";
import { Kysely, sql } from "kysely";
import { PlanetScaleDialect } from "kysely-planetscale";

const env = process.env;
const db = new Kysely({
  dialect: new PlanetScaleDialect({
    host: env.EDGE_ACCESS_HOST,
    username: env.EDGE_USER,
    password: env.EDGE_PASSWORD,
  }),
});
const summary = {};

await sql`DROP TABLE IF EXISTS kysely_people`.execute(db);
await db.schema
  .createTable("kysely_people")
  .addColumn("id", "bigint", (c) => c.autoIncrement().primaryKey())
  .addColumn("name", "varchar(50)", (c) => c.notNull())
  .addColumn("born", "date")
  .addColumn("score", sql`decimal(6,2)`)
  .execute();
const inserted = await db
  .insertInto("kysely_people")
  .values([
    { name: "ada", born: "1815-12-10", score: "99.50" },
    { name: "alan", born: "1912-06-23", score: "98.25" },
  ])
  .executeTakeFirstOrThrow();
summary.insert_id = Number(inserted.insertId);
summary.inserted = Number(inserted.numInsertedOrUpdatedRows);

await db
  .transaction()
  .setIsolationLevel("serializable")
  .execute(async (trx) => {
    await trx.insertInto("kysely_people").values({ name: "grace" }).execute();
    await trx.updateTable("kysely_people").set({ score: "100.00" }).where("name", "=", "ada").execute();
  });
await assert.rejects(
  db.transaction().execute(async (trx) => {
    await trx.insertInto("kysely_people").values({ name: "rolled back" }).execute();
    throw new Error("roll back");
  }),
  /roll back/,
);
const people = await db
  .selectFrom("kysely_people")
  .select(["name", "born", "score"])
  .orderBy("id")
  .execute();
summary.people = people.map((p) => p.name);
summary.ada = people[0];
await db.destroy();
console.log(JSON.stringify(summary));
