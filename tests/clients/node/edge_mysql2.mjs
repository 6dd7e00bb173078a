// mysql2 against dbplane's connection edge, with a password of one role; the same
// environment and table as tests/clients/python/edge_pymysql.py. Server-side prepared
// statements (`execute`) are mysql2's. Every check throws on failure; the last line
// printed is a JSON summary.
import fs from "node:fs";
import assert from "node:assert/strict";
import mysql from "mysql2/promise";

const env = process.env;
const role = env.EDGE_ROLE;
const tls = env.EDGE_TLS === "1";
const canRead = ["reader", "readwriter", "admin"].includes(role);
const canWrite = ["writer", "readwriter", "admin"].includes(role);

function options(extra = {}) {
  return {
    host: env.EDGE_HOST,
    port: Number(env.EDGE_PORT),
    user: env.EDGE_USER,
    password: env.EDGE_PASSWORD,
    database: env.EDGE_DATABASE,
    ssl: tls ? { rejectUnauthorized: false } : undefined,
    infileStreamFactory: (path) => fs.createReadStream(path),
    ...extra,
  };
}

async function expectError(connection, sql, code, params) {
  try {
    await connection.query(sql, params);
  } catch (error) {
    assert.equal(error.errno, code, `${sql}: ${error.message}`);
    assert.match(error.sqlState, /^[0-9A-Z]{5}$/);
    return `${error.errno} ${error.sqlState} ${error.message}`;
  }
  throw new Error(`${sql} succeeded for a ${role}, wanted error ${code}`);
}

const summary = { role, tls };
const connection = await mysql.createConnection(options());
const [[{ db }]] = await connection.query("SELECT DATABASE() AS db");
assert.equal(db, env.EDGE_DATABASE);
summary.database = db;
if (tls) summary.cipher = connection.connection.stream.getCipher().name;

if (canRead) {
  // A prepared statement, executed twice with different values.
  const [first] = await connection.execute("SELECT COUNT(*) AS n FROM items WHERE qty >= ?", [0]);
  const [second] = await connection.execute("SELECT COUNT(*) AS n FROM items WHERE qty >= ?", [1000000]);
  assert.equal(second[0].n, 0);
  summary.rows_before = first[0].n;
} else {
  summary.select_error = await expectError(connection, "SELECT COUNT(*) FROM items", 1142);
}

if (!canWrite) {
  summary.insert_error = await expectError(connection, "INSERT INTO items (name, qty) VALUES ('x', 1)", 1142);
} else {
  const [inserted] = await connection.execute("INSERT INTO items (name, qty) VALUES (?, ?)", ["mysql2", 1]);
  await connection.query("SELECT 1");
  const [[lastId]] = await connection.query("SELECT LAST_INSERT_ID() AS id");
  assert.equal(Number(lastId.id), inserted.insertId, "LAST_INSERT_ID() after another statement");
  summary.last_insert_id = inserted.insertId;

  await connection.beginTransaction();
  await connection.execute("INSERT INTO items (name, qty) VALUES (?, ?)", ["rolled back", 2]);
  await connection.rollback();
  await connection.beginTransaction();
  await connection.execute("INSERT INTO items (name, qty) VALUES (?, ?)", ["committed", 3]);
  await connection.commit();
  if (canRead) {
    const [[gone]] = await connection.query("SELECT COUNT(*) AS n FROM items WHERE name = 'rolled back'");
    assert.equal(gone.n, 0, "a rolled back row is not there");
  }

  const [loaded] = await connection.query({
    sql: "LOAD DATA LOCAL INFILE ? INTO TABLE items FIELDS TERMINATED BY ',' (name, qty)",
    values: [env.EDGE_INFILE],
  });
  assert.equal(loaded.affectedRows, 3);
  summary.loaded = loaded.affectedRows;

  const payload = Buffer.alloc(20 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
  const [big] = await connection.execute("INSERT INTO items (name, qty, payload) VALUES (?, ?, ?)", ["big", 20, payload]);
  if (canRead) {
    const [[row]] = await connection.execute("SELECT payload FROM items WHERE id = ?", [big.insertId]);
    assert.ok(payload.equals(row.payload), "the 20 MB row reads back unchanged");
    summary.big_row_bytes = row.payload.length;
  }
}

if (role === "admin") {
  await connection.query("CREATE TEMPORARY TABLE scratch (n INT)");
  await connection.query("INSERT INTO scratch VALUES (1), (2)");
  const [[sum]] = await connection.query("SELECT SUM(n) AS s FROM scratch");
  assert.equal(Number(sum.s), 3);
  summary.temporary_table = true;
} else if (role === "readwriter") {
  summary.temporary_table_error = await expectError(connection, "CREATE TEMPORARY TABLE scratch (n INT)", 1044);
}

const missing = await expectError(connection, "SELECT * FROM no_such_table", canRead ? 1146 : 1142);
assert.ok(!missing.includes("dbp_"), missing);
summary.missing_table_error = missing;
await connection.end();

try {
  await mysql.createConnection(options({ password: "wrong-" + env.EDGE_PASSWORD }));
  throw new Error("a wrong password logged in");
} catch (error) {
  assert.equal(error.errno, 1045, error.message);
  summary.wrong_password = error.errno;
}
console.log(JSON.stringify(summary));
