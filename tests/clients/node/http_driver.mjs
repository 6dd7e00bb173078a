// PlanetScale's serverless driver (@planetscale/database) against dbplane's HTTP SQL API,
// connected exactly as against PlanetScale: connect({ host: access_host_url, username,
// password }) over HTTPS (the edge's certificate trusted through NODE_EXTRA_CA_CERTS).
// EDGE_ROLE=admin runs the whole round; EDGE_ROLE=reader checks what a reader may not do.
// Prints a JSON summary; any failed assertion exits non-zero.
import assert from "node:assert/strict";
import { connect, DatabaseError } from "@planetscale/database";

const env = process.env;
const config = { host: env.EDGE_ACCESS_HOST, username: env.EDGE_USER, password: env.EDGE_PASSWORD };
const conn = connect(config);
const summary = {};

const database = await conn.execute("SELECT DATABASE() AS db");
summary.database = database.rows[0].db;

const wrong = connect({ ...config, password: "not-the-password" });
const refused = await wrong.execute("SELECT 1").catch((error) => error);
assert.ok(refused instanceof DatabaseError, String(refused));
summary.wrong_password_status = refused.status;

const missing = await conn.execute("SELECT * FROM no_such_table").catch((error) => error);
assert.ok(missing instanceof DatabaseError, String(missing));
summary.missing_table = missing.message;
summary.missing_table_code = missing.body.code;

if (env.EDGE_ROLE === "reader") {
  const rows = await conn.execute("SELECT COUNT(*) AS n FROM every_type");
  summary.reader_count = Number(rows.rows[0].n);
  const write = await conn.execute("INSERT INTO every_type (i8) VALUES (1)").catch((error) => error);
  assert.ok(write instanceof DatabaseError, String(write));
  summary.reader_write = write.message;
  console.log(JSON.stringify(summary));
  process.exit(0);
}

// One column of every MariaDB type.
await conn.execute("DROP TABLE IF EXISTS every_type");
await conn.execute(`CREATE TABLE every_type (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  i8 TINYINT, i16 SMALLINT, i24 MEDIUMINT, i32 INT, i64 BIGINT,
  u8 TINYINT UNSIGNED, u16 SMALLINT UNSIGNED, u24 MEDIUMINT UNSIGNED, u32 INT UNSIGNED, u64 BIGINT UNSIGNED,
  dec_ DECIMAL(12,3), f32 FLOAT, f64 DOUBLE, bits BIT(3),
  d DATE, dt DATETIME(6), ts TIMESTAMP(3) NULL, t TIME, y YEAR,
  c CHAR(4), vc VARCHAR(20), latin VARCHAR(10) CHARACTER SET latin1, bin BINARY(4), vbin VARBINARY(8),
  tb TINYBLOB, b BLOB, mb MEDIUMBLOB, lb LONGBLOB,
  tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT,
  e ENUM('small','large'), s SET('a','b','c'), j JSON, g GEOMETRY, p POINT,
  u UUID, ip INET6
)`);
const bytes = Uint8Array.from([0, 1, 254, 255]);
const inserted = await conn.execute(
  `INSERT INTO every_type (i8, i16, i24, i32, i64, u8, u16, u24, u32, u64, dec_, f32, f64, bits,
     d, dt, ts, t, y, c, vc, latin, bin, vbin, tb, b, mb, lb, tt, tx, mt, lt, e, s, j, g, p, u, ip)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, b'101',
     ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
     ST_GeomFromText('LINESTRING(0 0,1 1)'), POINT(1, 2), ?, ?)`,
  [-128, -32768, -8388608, -2147483648, "-9223372036854775808", 255, 65535, 16777215, 4294967295,
    "18446744073709551615", "-123456789.125", 1.5, 2.25, "2024-02-29", "2024-02-29 23:59:58.123456",
    "2038-01-19 03:14:07.999", "-838:59:59", 2155, "abc", "héllo wörld", "ça", bytes, bytes, bytes,
    bytes, bytes, bytes, "tiny", "text ✓", "medium", "long", "large", "a,c",
    JSON.stringify({ k: [1, "ü", null] }), "123e4567-e89b-12d3-a456-426614174000", "2001:db8::1"],
);
summary.insert_id = inserted.insertId;
summary.insert_rows_affected = inserted.rowsAffected;
await conn.execute("INSERT INTO every_type () VALUES ()");

const rows = await conn.execute("SELECT * FROM every_type ORDER BY id");
const [full, empty] = rows.rows;
const types = Object.fromEntries(rows.fields.map((f) => [f.name, f.type]));
summary.types = types;
assert.equal(full.i8, -128);
assert.equal(full.i24, -8388608);
assert.equal(full.i32, -2147483648);
assert.equal(full.i64, "-9223372036854775808");
assert.equal(full.u32, 4294967295);
assert.equal(full.u64, "18446744073709551615");
assert.equal(full.dec_, "-123456789.125");
assert.equal(full.f32, 1.5);
assert.equal(full.f64, 2.25);
assert.deepEqual([...full.bits], [5]);
assert.equal(full.d, "2024-02-29");
assert.equal(full.dt, "2024-02-29 23:59:58.123456");
assert.equal(full.ts, "2038-01-19 03:14:07.999");
assert.equal(full.t, "-838:59:59");
assert.equal(full.y, 2155);
assert.equal(full.c, "abc");
assert.equal(full.vc, "héllo wörld");
assert.equal(full.latin, "ça");
for (const column of ["bin", "vbin", "tb", "b", "mb", "lb"]) {
  assert.ok(full[column] instanceof Uint8Array, column);
  assert.deepEqual([...full[column]], [...bytes], column);
}
assert.equal(full.tt, "tiny");
assert.equal(full.tx, "text ✓");
assert.equal(full.lt, "long");
assert.equal(full.e, "large");
assert.equal(full.s, "a,c");
assert.deepEqual(full.j, { k: [1, "ü", null] });
assert.ok(full.g instanceof Uint8Array && full.g.length > 20, "geometry as WKB bytes");
assert.ok(full.p instanceof Uint8Array && full.p.length === 25, "a point: SRID + WKB");
assert.equal(full.u, "123e4567-e89b-12d3-a456-426614174000");
assert.equal(full.ip, "2001:db8::1");
for (const [column, value] of Object.entries(empty)) {
  if (column !== "id") assert.equal(value, null, column);
}
summary.nulls = Object.keys(empty).length - 1;

// A 5 MB blob both ways.
const big = new Uint8Array(5 * 1024 * 1024);
for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
const bigInsert = await conn.execute("INSERT INTO every_type (lb) VALUES (?)", [big]);
const bigRow = await conn.execute("SELECT lb FROM every_type WHERE id = ?", [bigInsert.insertId]);
assert.equal(bigRow.rows[0].lb.length, big.length);
assert.ok(Buffer.from(bigRow.rows[0].lb).equals(Buffer.from(big)), "the blob's bytes");
summary.big_blob_bytes = bigRow.rows[0].lb.length;

const updated = await conn.execute("UPDATE every_type SET i8 = 1 WHERE id <= ?", [2]);
summary.update_rows_affected = updated.rowsAffected;

// transaction(): committed, then rolled back.
await conn.transaction(async (tx) => {
  await tx.execute("INSERT INTO every_type (vc) VALUES ('committed')");
  await tx.execute("INSERT INTO every_type (vc) VALUES ('committed')");
});
await conn
  .transaction(async (tx) => {
    await tx.execute("INSERT INTO every_type (vc) VALUES ('rolled back')");
    throw new Error("roll back");
  })
  .catch((error) => assert.equal(error.message, "roll back"));
const counted = await conn.execute(
  "SELECT SUM(vc = 'committed') AS committed, SUM(vc = 'rolled back') AS rolled_back FROM every_type",
);
summary.committed = Number(counted.rows[0].committed);
summary.rolled_back = Number(counted.rows[0].rolled_back ?? 0);

// A transaction sees its own writes across requests; others do not until it commits.
const session = connect(config);
await session.execute("BEGIN");
await session.execute("INSERT INTO every_type (vc) VALUES ('in flight')");
const inside = await session.execute("SELECT COUNT(*) AS n FROM every_type WHERE vc = 'in flight'");
const outside = await conn.execute("SELECT COUNT(*) AS n FROM every_type WHERE vc = 'in flight'");
summary.isolation = [Number(inside.rows[0].n), Number(outside.rows[0].n)];
// The same session twice at once: one of the two is refused.
const both = await Promise.allSettled([
  session.execute("SELECT SLEEP(0.5)"),
  session.execute("SELECT SLEEP(0.5)"),
]);
const busy = both.find((result) => result.status === "rejected");
assert.ok(busy, "one request was refused");
summary.busy_status = busy.reason.status;
await session.execute("ROLLBACK");

// A duplicate key: what Prisma's adapter parses.
const duplicate = await conn.execute("INSERT INTO every_type (id) VALUES (1)").catch((error) => error);
summary.duplicate = duplicate.message;

console.log(JSON.stringify(summary));
