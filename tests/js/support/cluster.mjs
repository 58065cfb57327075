// Starts cluster nodes for the tests: the Rust contract node
// (crates/actix-socketio-redis/examples/cluster_node.rs) or its Node twin
// (tests/js/cluster/node.mjs), on free ports, with a channel prefix of the test's own, and
// stops or kills them.
//
// The Rust binary is the debug build `make test-js` makes (`cargo build -p
// actix-socketio-redis --example cluster_node`); RUST_NODE_BIN names another (the release
// build, say). The tests never build it themselves, so a stale or missing build is
// reported instead of hidden.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { createClient } from "redis";
import { io } from "socket.io-client";

import { REPO_ROOT } from "./server.mjs";

const TARGET_DIR = process.env.CARGO_TARGET_DIR
  ? resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR)
  : join(REPO_ROOT, "target");

/** The Rust contract node, as cargo builds it. */
export const RUST_NODE_BIN = process.env.RUST_NODE_BIN
  ? resolve(REPO_ROOT, process.env.RUST_NODE_BIN)
  : join(TARGET_DIR, "debug", "examples", "cluster_node");
/** The Node twin. */
export const NODE_TWIN = join(REPO_ROOT, "tests", "js", "cluster", "node.mjs");

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 3_000;
/** Upper bound for a contract call. */
export const CALL_MS = 7_000;

let keys = 0;
/** A channel prefix no other test (or earlier run) uses. */
export function uniqueKey(name) {
  keys += 1;
  return `test-${name}-${process.pid}-${keys}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A TCP port nothing listens on right now. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Resolves once `url` answers an Engine.IO handshake. */
async function waitServing(url, exited, deadline) {
  for (;;) {
    if (exited()) throw new Error(`node at ${url} exited before serving`);
    try {
      const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`node at ${url} did not serve within ${START_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/**
 * Starts one node. `kind` is "rust" or "node"; `adapter` classic|sharded|streams|memory;
 * `recoveryMs` sets RECOVERY_MS; `port` reuses a port (a restart).
 */
export async function startNode({ kind, key, adapter = "classic", recoveryMs, port, redisUrl = REDIS_URL, env = {} }) {
  let command;
  let args;
  if (kind === "rust") {
    if (!existsSync(RUST_NODE_BIN)) {
      throw new Error(
        `cluster node not found at ${RUST_NODE_BIN}: run ` +
          "`cargo build -p actix-socketio-redis --example cluster_node` first",
      );
    }
    [command, args] = [RUST_NODE_BIN, []];
  } else if (kind === "node") {
    [command, args] = [process.execPath, [NODE_TWIN]];
  } else {
    throw new Error(`kind must be "rust" or "node", not ${kind}`);
  }
  port ??= await freePort();
  const childEnv = {
    ...process.env,
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    ...env,
    PORT: String(port),
    REDIS_URL: redisUrl,
    KEY: key,
    ADAPTER: adapter,
  };
  if (recoveryMs !== undefined) childEnv.RECOVERY_MS = String(recoveryMs);
  else delete childEnv.RECOVERY_MS;
  const child = spawn(command, args, { cwd: REPO_ROOT, env: childEnv, stdio: ["ignore", "ignore", "inherit"] });
  let exit = null;
  const exited = new Promise((resolveExit) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolveExit();
    });
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitServing(url, () => exit !== null, Date.now() + START_TIMEOUT_MS);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const node = {
    kind,
    port,
    url,
    adapter,
    exited: () => exit !== null,
    exitInfo: () => JSON.stringify(exit),
    /** SIGTERM, then SIGKILL if it has not exited after a while. */
    async stop() {
      if (exit !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
    /** SIGKILL: the node gets no chance to say goodbye. */
    async kill() {
      if (exit !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
    /** The same node again, on the same port. */
    restart() {
      return startNode({ kind, key, adapter, recoveryMs, port, redisUrl, env });
    },
  };
  return node;
}

/** A socket.io-client connection to `node`; resolves once connected. */
export async function connect(node, opts = {}) {
  const socket = io(node.url, { transports: ["websocket"], forceNew: true, reconnection: false, ...opts });
  await new Promise((resolveConnect, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection to ${node.url}`)), CALL_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolveConnect();
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return socket;
}

/** A contract call: emits `event` with `args` and resolves with the node's ack. */
export function call(socket, event, ...args) {
  return socket.timeout(CALL_MS).emitWithAck(event, ...args);
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function eventually(check, what, ms = CALL_MS) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last === true) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not true within ${ms} ms (last: ${last})`);
    await sleep(50);
  }
}

/**
 * Starts one node per entry of `kinds` ("rust" | "node"), all with `key` and `adapter`
 * (on `redisUrl`, the local Redis by default), and waits until every node counts them all
 * (for the Redis adapters).
 */
export async function startCluster(kinds, { key, adapter = "classic", recoveryMs, env, redisUrl } = {}) {
  const nodes = [];
  try {
    for (const kind of kinds) nodes.push(await startNode({ kind, key, adapter, recoveryMs, env, redisUrl }));
    if (adapter !== "memory") await waitForCount(nodes, nodes.length);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    throw err;
  }
  return nodes;
}

/** Waits until every node of `nodes` answers `count` with `expected`, each within `ms`. */
export async function waitForCount(nodes, expected, ms = CALL_MS) {
  for (const node of nodes) {
    const socket = await connect(node);
    try {
      await eventually(async () => (await call(socket, "count")) === expected, `${node.url} counts ${expected}`, ms);
    } finally {
      socket.disconnect();
    }
  }
}

/** Deletes what the streams adapter left in Redis under `key`. */
export async function dropKeys(key, redisUrl = REDIS_URL) {
  const client = createClient({ url: redisUrl });
  client.on("error", () => {});
  await client.connect();
  try {
    const found = [];
    for await (const k of client.scanIterator({ MATCH: `${key}*`, COUNT: 1000 })) found.push(k);
    if (found.length) await client.del(found);
  } finally {
    await client.quit();
  }
}

/** The next `event` on `socket`, as its argument list. */
export function next(socket, event, ms = 5_000) {
  return new Promise((resolveNext, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolveNext(args);
    });
  });
}

/** How long a client listens to be sure that a message does not come. */
export const QUIET_MS = 300;

/** Resolves with the `event`s `socket` got within QUIET_MS (the caller expects none). */
export async function heardWithin(socket, event) {
  const got = [];
  const listener = (...args) => got.push(args);
  socket.on(event, listener);
  await sleep(QUIET_MS);
  socket.off(event, listener);
  return got;
}

/** Fails if `event` arrives on `socket` within QUIET_MS. */
export async function never(socket, event) {
  const got = await heardWithin(socket, event);
  assert.deepEqual(got, [], `unexpected "${event}": ${JSON.stringify(got)}`);
}

/**
 * A redis-server of the test's own on a free port (no persistence), for tests that stop
 * and restart Redis: `url`, `stop()` (SIGKILL, as a crash), `start()` again on the same port.
 */
export async function ownRedis() {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child = null;
  const redis = {
    port,
    url,
    async start() {
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
      });
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        const client = createClient({ url, socket: { reconnectStrategy: false } });
        client.on("error", () => {});
        try {
          await client.connect();
          await client.ping();
          await client.quit();
          return;
        } catch {
          if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
          await sleep(50);
        }
      }
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((resolveExit) => child.once("exit", resolveExit));
      child.kill("SIGKILL");
      await exited;
    },
  };
  await redis.start();
  return redis;
}
