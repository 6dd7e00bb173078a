// Load generator of the HTTP SQL benchmark (benches/http_sql, not a test): the same
// statements through @planetscale/database (HTTPS to EDGE_ACCESS_HOST, the password's
// access_host_url) and through mysql2 (the MySQL protocol to EDGE_MYSQL_ADDRESS, the
// branch's mysql_edge_address), one after the other in this process. Prints JSON.
//
// MODE=case: one client (CLIENT=http|mysql2|floor) runs one STATEMENT (point_select|insert)
//   with CONCURRENCY workers for SECONDS after a warm-up: every latency in ms (the
//   benchmark runs several of these processes at once and merges them).
// MODE=sessions: SESSIONS requests, each from a new connection object (a new HTTP
//   session, as serverless functions make them), CONCURRENCY at a time.
// MODE=connect: COUNT sequential MySQL logins at the edge's MySQL port, at the HTTP
//   API's port (served as MySQL after its silent window) and straight to MariaDB
//   (DIRECT_PORT, DIRECT_DATABASE): each one's median login in ms.
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

function median(latencies) {
  latencies.sort((a, b) => a - b);
  return Number(latencies[Math.floor(latencies.length / 2)].toFixed(3));
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

/// One case: CLIENT ("http" or "mysql2") runs STATEMENT with CONCURRENCY workers for
/// SECONDS after a one-second warm-up; every statement's latency in ms.
async function oneCase() {
  const concurrency = Number(env.CONCURRENCY ?? 1);
  const seconds = Number(env.SECONDS ?? 10);
  const statement = statements[env.STATEMENT ?? "point_select"];
  let workers;
  let run;
  let pool;
  if (env.CLIENT === "floor") {
    // The same fetch to a path the edge answers at once (404, no database): what any
    // HTTPS request costs this client, the floor under the HTTP API's latency.
    const url = `https://${env.EDGE_ACCESS_HOST}/nothing`;
    const headers = { "Content-Type": "application/json", "User-Agent": "database-js/floor" };
    workers = Array.from({ length: concurrency });
    run = async () => (await fetch(url, { method: "POST", body: "{}", headers })).text();
  } else if (env.CLIENT === "mysql2") {
    pool = mysql.createPool({ ...mysqlConfig, connectionLimit: concurrency });
    workers = Array.from({ length: concurrency });
    run = () => pool.query(...statement());
  } else {
    workers = Array.from({ length: concurrency }, () => connect(http));
    run = (conn) => conn.execute(...statement());
  }
  await load(workers, 1, run);
  const latencies = await load(workers, seconds, run);
  if (pool) await pool.end();
  return { latencies: latencies.map((ms) => Math.round(ms * 1000) / 1000) };
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
  const [httpHost, httpPort] = env.EDGE_ACCESS_HOST.split(":");
  const atHttpPort = { ...mysqlConfig, host: httpHost, port: Number(httpPort) };
  const result = {};
  for (const [name, config] of Object.entries({ edge: mysqlConfig, access_host_url: atHttpPort, direct })) {
    const latencies = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const conn = await mysql.createConnection(config);
      latencies.push(performance.now() - started);
      await conn.end();
    }
    result[name] = median(latencies);
  }
  return result;
}

const modes = { case: oneCase, sessions, connect: logins };
console.log(JSON.stringify(await modes[env.MODE ?? "case"]()));
