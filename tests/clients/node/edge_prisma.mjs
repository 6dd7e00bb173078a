// Prisma 7 with its MariaDB driver adapter (no engine binary) against dbplane's
// connection edge, with an admin or readwriter password; prints a JSON summary.
import assert from "node:assert/strict";
import { PrismaClient } from "@prisma/client";
import { PrismaMariaDb } from "@prisma/adapter-mariadb";

const env = process.env;
const adapter = new PrismaMariaDb({
  host: env.EDGE_HOST,
  port: Number(env.EDGE_PORT),
  user: env.EDGE_USER,
  password: env.EDGE_PASSWORD,
  database: env.EDGE_DATABASE,
  ssl: env.EDGE_TLS === "1" ? { rejectUnauthorized: false } : undefined,
  connectionLimit: 4,
});
const prisma = new PrismaClient({ adapter });
const summary = {};

const created = await prisma.item.create({ data: { name: "prisma", qty: 7 } });
const found = await prisma.item.findUnique({ where: { id: created.id } });
assert.equal(found.name, "prisma");
summary.created_id = Number(created.id);

// An interactive transaction rolled back leaves nothing.
await assert.rejects(
  prisma.$transaction(async (tx) => {
    await tx.item.create({ data: { name: "prisma rolled back", qty: 1 } });
    throw new Error("roll back");
  }),
  /roll back/,
);
assert.equal(await prisma.item.count({ where: { name: "prisma rolled back" } }), 0);
await prisma.$transaction([
  prisma.item.create({ data: { name: "prisma batch", qty: 1 } }),
  prisma.item.updateMany({ where: { name: "prisma batch" }, data: { qty: 2 } }),
]);
summary.count = await prisma.item.count();

// What the client sees of its database: its own name, and its tables.
const [{ db }] = await prisma.$queryRaw`SELECT DATABASE() AS db`;
assert.equal(db, env.EDGE_DATABASE);
summary.database = db;
const tables = await prisma.$queryRaw`
  SELECT TABLE_SCHEMA AS schema_name, TABLE_NAME AS table_name
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${env.EDGE_DATABASE} ORDER BY TABLE_NAME`;
assert.ok(tables.length >= 1, "information_schema lists the branch's tables");
for (const table of tables) assert.equal(table.schema_name, env.EDGE_DATABASE);
summary.tables = tables.map((t) => t.table_name);

await prisma.$disconnect();
console.log(JSON.stringify(summary, (_, v) => (typeof v === "bigint" ? Number(v) : v)));
