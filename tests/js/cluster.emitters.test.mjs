// Both emitters against a classic cluster of 2 Rust nodes and 1 Node node: the Rust
// Emitter (crates/actix-socketio-redis/examples/emitter.rs, one JSON command per line)
// and Node's @socket.io/redis-emitter 5.1 each reach the clients of every node, binary
// included, and move and disconnect their sockets.
//
//   cargo build -p actix-socketio-redis --example emitter --example cluster_node
//   node --test tests/js/cluster.emitters.test.mjs     (Redis on 127.0.0.1:6379)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";

import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

import {
  REDIS_URL,
  call,
  connect,
  eventually,
  heardWithin,
  next,
  startCluster,
  uniqueKey,
} from "./support/cluster.mjs";
import { REPO_ROOT } from "./support/server.mjs";

const EMITTER_BIN = join(process.env.CARGO_TARGET_DIR ?? join(REPO_ROOT, "target"), "debug", "examples", "emitter");

/** The Rust emitter process: `emit`, `socketsJoin`, ... as its example documents. */
async function rustEmitter(key) {
  if (!existsSync(EMITTER_BIN)) {
    throw new Error(`${EMITTER_BIN} not found: run \`cargo build -p actix-socketio-redis --example emitter\` first`);
  }
  const child = spawn(EMITTER_BIN, [], { env: { ...process.env, REDIS_URL, KEY: key }, stdio: ["pipe", "pipe", "inherit"] });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async send(command) {
      child.stdin.write(JSON.stringify(command) + "\n");
      const { value, done } = await replies.next();
      assert.equal(done, false, "the emitter process ended");
      return value;
    },
    kill: () => child.kill("SIGKILL"),
  };
}

/** Node's emitter, behind the same commands as the Rust one. */
async function nodeEmitter(key) {
  const client = createClient({ url: REDIS_URL });
  client.on("error", () => {});
  await client.connect();
  const emitter = new Emitter(client, { key });
  const unhex = (value) => {
    if (Array.isArray(value)) return value.map(unhex);
    if (value && typeof value === "object") {
      if (Object.keys(value).length === 1 && typeof value.$bin === "string") return Buffer.from(value.$bin, "hex");
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unhex(v)]));
    }
    return value;
  };
  return {
    async send({ op, to = [], except = [], event, args = [], rooms = [], close = false }) {
      const operator = emitter.to(to).except(except);
      if (op === "emit") operator.emit(event, ...unhex(args));
      else if (op === "socketsJoin") operator.socketsJoin(rooms);
      else if (op === "socketsLeave") operator.socketsLeave(rooms);
      else if (op === "disconnectSockets") operator.disconnectSockets(close);
      else throw new Error(`unknown op ${op}`);
      return "ok";
    },
    kill: () => client.quit(),
  };
}

for (const [name, start] of [
  ["the Rust emitter", rustEmitter],
  ["Node's @socket.io/redis-emitter", nodeEmitter],
]) {
  describe(`${name} reaching 2 Rust nodes and 1 Node node (classic)`, { timeout: 90_000 }, () => {
    const key = uniqueKey("emitters");
    let nodes;
    let emitter;
    const c = {};
    const extra = [];
    const all = () => [c.rust0, c.rust1, c.node];

    before(async () => {
      nodes = await startCluster(["rust", "rust", "node"], { key });
      c.rust0 = await connect(nodes[0]);
      c.rust1 = await connect(nodes[1], { transports: ["polling"] });
      c.node = await connect(nodes[2]);
      assert.equal(await call(c.rust1, "join", "room-a"), true);
      assert.equal(await call(c.node, "join", "room-a"), true);
      emitter = await start(key);
    });

    after(async () => {
      await emitter?.kill();
      for (const s of [...Object.values(c), ...extra]) s.disconnect();
      const crashed = (nodes ?? []).filter((n) => n.exited()).map((n) => n.exitInfo());
      await Promise.all((nodes ?? []).map((n) => n.stop()));
      assert.deepEqual(crashed, [], "a node exited during the tests");
    });

    test("emit reaches every client of every node", async () => {
      const got = all().map((s) => next(s, "news"));
      assert.equal(await emitter.send({ op: "emit", event: "news", args: ["hi", 1, { a: [true, null] }] }), "ok");
      assert.deepEqual(await Promise.all(got), all().map(() => ["hi", 1, { a: [true, null] }]));
    });

    test("emit to a room reaches its members only, except leaves a room out", async () => {
      const got = [next(c.rust1, "room"), next(c.node, "room")];
      const silent = heardWithin(c.rust0, "room");
      assert.equal(await emitter.send({ op: "emit", to: ["room-a"], event: "room", args: ["a"] }), "ok");
      assert.deepEqual(await Promise.all(got), [["a"], ["a"]]);
      assert.deepEqual(await silent, []);
      const rest = next(c.rust0, "rest");
      const quiet = [heardWithin(c.rust1, "rest"), heardWithin(c.node, "rest")];
      assert.equal(await emitter.send({ op: "emit", except: ["room-a"], event: "rest", args: [] }), "ok");
      assert.deepEqual(await rest, []);
      assert.deepEqual(await Promise.all(quiet), [[], []]);
    });

    test("emit to one socket of a Rust node, by its id", async () => {
      const got = next(c.rust1, "direct");
      assert.equal(await emitter.send({ op: "emit", to: [c.rust1.id], event: "direct", args: [5] }), "ok");
      assert.deepEqual(await got, [5]);
    });

    test("binary arguments arrive as bytes on every node", async () => {
      const got = all().map((s) => next(s, "blob"));
      assert.equal(
        await emitter.send({ op: "emit", event: "blob", args: [{ $bin: "0102ff" }, { nested: [{ $bin: "" }, { $bin: "e9" }] }] }),
        "ok",
      );
      for (const [blob, { nested }] of await Promise.all(got)) {
        assert.deepEqual(Buffer.from(blob), Buffer.from([1, 2, 255]));
        assert.deepEqual(nested.map((b) => Buffer.from(b)), [Buffer.alloc(0), Buffer.from([0xe9])]);
      }
    });

    test("socketsJoin and socketsLeave move sockets of every node", async () => {
      assert.equal(await emitter.send({ op: "socketsJoin", to: ["room-a"], rooms: ["room-b"] }), "ok");
      const inB = [c.rust1.id, c.node.id].sort();
      await eventually(async () => JSON.stringify(await call(c.rust0, "fetch", { in: ["room-b"] })) === JSON.stringify(inB), "room-a joined room-b");
      assert.equal(await emitter.send({ op: "socketsJoin", rooms: ["room-c"] }), "ok");
      const everyone = all().map((s) => s.id).sort();
      await eventually(async () => JSON.stringify(await call(c.node, "fetch", { in: ["room-c"] })) === JSON.stringify(everyone), "everyone joined room-c");
      assert.equal(await emitter.send({ op: "socketsLeave", except: ["room-a"], rooms: ["room-c"] }), "ok");
      await eventually(async () => JSON.stringify(await call(c.rust1, "fetch", { in: ["room-c"] })) === JSON.stringify(inB), "rust0 left room-c");
    });

    test("disconnectSockets closes the sockets of a room on every node", async () => {
      const victims = [await connect(nodes[0]), await connect(nodes[1]), await connect(nodes[2])];
      extra.push(...victims);
      for (const v of victims) assert.equal(await call(v, "join", "room-v"), true);
      const reasons = victims.map((v) => next(v, "disconnect"));
      assert.equal(await emitter.send({ op: "disconnectSockets", to: ["room-v"], close: true }), "ok");
      assert.deepEqual(await Promise.all(reasons), victims.map(() => ["io server disconnect", undefined]));
      for (const s of all()) assert.equal(s.connected, true);
    });
  });
}
