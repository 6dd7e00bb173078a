// Load generator of the HTTP SQL benchmark (benches/http_sql, not a test): the same
// statements through @planetscale/database (HTTPS to EDGE_ACCESS_HOST, the password's
// access_host_url) and through mysql2 (the MySQL protocol to EDGE_MYSQL_ADDRESS, the
// branch's mysql_edge_address), one after the other in this process. Prints JSON.
//
// MODE=latency: point selects and single-row inserts at each CONCURRENCY (e.g. "1,32"),
//   SECONDS each, after a warm-up: per client and case, statements, per second, median
//   and p99 in ms.
// MODE=sessions: SESSIONS requests, each from a new connection object (a new HTTP
//   session, as serverless functions make them), CONCURRENCY at a time.
// MODE=connect: COUNT sequential MySQL logins through the edge and straight to MariaDB
//   (DIRECT_PORT, DIRECT_DATABASE): the median login, which the edge's wait for HTTP
//   clients on its port adds to.
import { connect } from "@planetscale/database";
import mysql from "mysql2/promise";

const env = process.env;
const [host, port] = env.EDGE_MYSQL_ADDRESS.split(":");
const http = { host: env.EDGE_ACCESS_HOST, username: env.EDGE_USER, password: env.EDGE_PASSWORD };
const mysqlConfig = { host, port: Number(port), user: env.EDGE_USER, password: env.EDGE_PASSWORD, database: env.EDGE_DATABASE };
const rows = Number(env.ROWS ?? 10000);

const statements = {
  point_select: () => ["SELECT id, k, v FROM kv WHERE id = ?", [1 + Math.floor(Math.random() * rows)]],
  insert: () => ["INSERT INTO kv (k, v) VALUES (?, ?)", [Math.floor(Math.random() * 1e6), "inserted by the benchmark"]],
};

function summarize(latencies, seconds) {
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    statements: latencies.length,
    per_second: Math.round(latencies.length / seconds),
    median_ms: Number(at(0.5).toFixed(3)),
    p99_ms: Number(at(0.99).toFixed(3)),
  };
}

/// Runs `workers` loops of `run` for `seconds`; the latencies of every statement.
async function load(workers, seconds, run) {
  const latencies = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    workers.map(async (worker) => {
      while (performance.now() < until) {
        const started = performance.now();
        await run(worker);
        latencies.push(performance.now() - started);
      }
    }),
  );
  return latencies;
}

async function latency() {
  const concurrencies = (env.CONCURRENCY ?? "1,32").split(",").map(Number);
  const seconds = Number(env.SECONDS ?? 10);
  const results = [];
  for (const concurrency of concurrencies) {
    const connections = Array.from({ length: concurrency }, () => connect(http));
    const pool = mysql.createPool({ ...mysqlConfig, connectionLimit: concurrency });
    const clients = {
      "@planetscale/database": (statement) => (conn) => conn.execute(...statement()),
      mysql2: (statement) => () => pool.query(...statement()),
    };
    for (const [name, statement] of Object.entries(statements)) {
      for (const [client, make] of Object.entries(clients)) {
        if (env.CLIENT && env.CLIENT !== client) continue;
        const workers = client === "mysql2" ? Array.from({ length: concurrency }) : connections;
        await load(workers, 1, make(statement));
        const latencies = await load(workers, seconds, make(statement));
        results.push({ client, statement: name, concurrency, ...summarize(latencies, seconds) });
      }
    }
    await pool.end();
  }
  return results;
}

async function sessions() {
  const total = Number(env.SESSIONS ?? 20000);
  const concurrency = Number(env.CONCURRENCY ?? 32);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        await connect(http).execute("SELECT 1");
      }
    }),
  );
  return { sessions: total, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) };
}

async function logins() {
  const count = Number(env.COUNT ?? 200);
  const direct = { ...mysqlConfig, host: "127.0.0.1", port: Number(env.DIRECT_PORT), database: env.DIRECT_DATABASE };
  const result = {};
  for (const [name, config] of Object.entries({ edge: mysqlConfig, direct })) {
    const latencies = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const conn = await mysql.createConnection(config);
      latencies.push(performance.now() - started);
      await conn.end();
    }
    result[name] = summarize(latencies, 1).median_ms;
  }
  return result;
}

const modes = { latency, sessions, connect: logins };
console.log(JSON.stringify(await modes[env.MODE ?? "latency"]()));
