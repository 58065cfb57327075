// Faults under a cluster of 2 Rust nodes and 1 Node node: Redis unreachable when a Rust
// node starts, and a Redis of the test's own (a redis-server on a free port) killed and
// started again while the cluster runs, classic and sharded.
//
//   cargo build -p actix-socketio-redis --example cluster_node
//   node --test tests/js/cluster.faults.test.mjs     (redis-server on the PATH)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, test } from "node:test";

import {
  RUST_NODE_BIN,
  call,
  connect,
  eventually,
  freePort,
  heardWithin,
  next,
  ownRedis,
  startCluster,
  uniqueKey,
  waitForCount,
} from "./support/cluster.mjs";

/** How long a node may take to count everyone again once Redis is back. */
const HEAL_MS = 20_000;

describe("a Rust node whose Redis cannot be reached", { timeout: 30_000 }, () => {
  test("exits at start with status 1 and says why", async () => {
    const port = await freePort();
    const redisPort = await freePort();
    const child = spawn(RUST_NODE_BIN, [], {
      env: { ...process.env, PORT: String(port), REDIS_URL: `redis://127.0.0.1:${redisPort}`, KEY: uniqueKey("down") },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    assert.equal(code, 1);
    assert.equal(stderr, `cluster_node: redis: Connection refused (os error 111) (redis://127.0.0.1:${redisPort})\n`);
  });
});

for (const adapter of ["classic", "sharded"]) {
  describe(`Redis restarted under a running cluster (${adapter})`, { timeout: 120_000 }, () => {
    const key = uniqueKey(`restart-${adapter}`);
    let redis;
    let nodes;
    const c = {};

    before(async () => {
      redis = await ownRedis();
      nodes = await startCluster(["rust", "rust", "node"], { key, adapter, redisUrl: redis.url });
      c.rust0 = await connect(nodes[0]);
      c.rust0b = await connect(nodes[0]);
      c.rust1 = await connect(nodes[1]);
      c.node = await connect(nodes[2]);
    });

    after(async () => {
      for (const s of Object.values(c)) s.disconnect();
      const crashed = (nodes ?? []).filter((n) => n.exited()).map((n) => n.exitInfo());
      await Promise.all((nodes ?? []).map((n) => n.stop()));
      await redis?.stop();
      assert.deepEqual(crashed, [], "a node exited during the tests");
    });

    test("the cluster works before the outage", async () => {
      assert.equal(await call(c.rust1, "join", "here"), true);
      assert.equal(await call(c.node, "join", "here"), true);
      const got = [next(c.rust1, "before"), next(c.node, "before")];
      assert.equal(await call(c.rust0, "emit", { to: ["here"], event: "before", args: [1] }), true);
      assert.deepEqual(await Promise.all(got), [[1], [1]]);
    });

    test("while Redis is down, local delivery goes on and cluster requests fail at once", async () => {
      await redis.stop();
      // The Rust node's own clients still get its broadcasts; nobody else can.
      const local = [next(c.rust0, "local"), next(c.rust0b, "local")];
      const remote = heardWithin(c.rust1, "local");
      assert.equal(await call(c.rust0, "emit", { to: [], event: "local", args: ["still"] }), true);
      assert.deepEqual(await Promise.all(local), [["still"], ["still"]]);
      assert.deepEqual(await remote, []);
      // Rooms of its own sockets still work.
      assert.equal(await call(c.rust0b, "join", "alone"), true);
      const inRoom = next(c.rust0b, "room");
      await call(c.rust0, "emit", { to: ["alone"], event: "room", args: [2] });
      assert.deepEqual(await inRoom, [2]);
      // What needs the other servers says that it cannot reach them.
      for (const [event, arg] of [
        ["count", undefined],
        ["fetch", { in: [] }],
        ["sse", "x"],
      ]) {
        const started = Date.now();
        const answer = arg === undefined ? await call(c.rust1, event) : await call(c.rust1, event, arg);
        assert.deepEqual(answer, { error: "the adapter failed" }, event);
        assert.ok(Date.now() - started < 2_500, `${event} answered in ${Date.now() - started} ms`);
      }
      assert.deepEqual(nodes.map((n) => n.exited()), [false, false, false]);
    });

    test("once Redis is back, every node counts 3 again and messages cross nodes", { timeout: 60_000 }, async () => {
      await redis.start();
      await waitForCount(nodes, 3, HEAL_MS);
      const got = [next(c.rust1, "after"), next(c.node, "after")];
      assert.equal(await call(c.rust0, "emit", { to: ["here"], event: "after", args: [3] }), true);
      assert.deepEqual(await Promise.all(got), [[3], [3]]);
      const back = [next(c.rust0, "fromNode"), next(c.rust1, "fromNode")];
      assert.equal(await call(c.node, "emit", { to: [c.rust0.id, c.rust1.id], event: "fromNode", args: [4] }), true);
      assert.deepEqual(await Promise.all(back), [[4], [4]]);
      assert.deepEqual(await call(c.rust1, "sse", "y"), [`pong:${nodes[0].port}:y`, `pong:${nodes[2].port}:y`].sort());
      assert.deepEqual(
        await call(c.node, "fetch", { in: [] }),
        Object.values(c)
          .map((s) => s.id)
          .sort(),
      );
      await eventually(async () => (await call(c.rust0, "fetch", { in: ["alone"] }))[0] === c.rust0b.id, "rooms kept");
    });
  });
}
