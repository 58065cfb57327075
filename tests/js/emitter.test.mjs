// The Rust Emitter (crates/actix-socketio-redis/examples/emitter.rs) against two Node
// socket.io 4.8 servers with @socket.io/redis-adapter 8.3 (classic), whose clients are
// socket.io-client 4.8: every operation the emitter has, obeyed by Node.
//
//   cargo build -p actix-socketio-redis --example emitter && node --test tests/js/emitter.test.mjs

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";

import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { io as ioc } from "socket.io-client";

import { REDIS_URL, eventually, never, next, uniqueKey } from "./support/cluster.mjs";
import { REPO_ROOT } from "./support/server.mjs";

const EMITTER_BIN = join(process.env.CARGO_TARGET_DIR ?? join(REPO_ROOT, "target"), "debug", "examples", "emitter");
describe("the Rust emitter, obeyed by Node nodes", { timeout: 60_000 }, () => {
  const key = uniqueKey("emitter");
  const cleanup = [];
  /** Two Node servers, and one client on each: c[0] on servers[0], c[1] on servers[1]. */
  const servers = [];
  const c = [];
  /** Server-side events the servers got from the emitter. */
  const notes = [];
  let emitter;
  let replies;

  /** Sends one command to the emitter process; resolves with its reply line. */
  async function send(command) {
    emitter.stdin.write(JSON.stringify(command) + "\n");
    const { value, done } = await replies.next();
    assert.equal(done, false, "the emitter process ended");
    return value;
  }

  before(async () => {
    if (!existsSync(EMITTER_BIN)) {
      throw new Error(`${EMITTER_BIN} not found: run \`cargo build -p actix-socketio-redis --example emitter\` first`);
    }
    for (let i = 0; i < 2; i++) {
      const clients = [];
      for (let j = 0; j < 2; j++) {
        const client = createClient({ url: REDIS_URL });
        client.on("error", () => {});
        await client.connect();
        clients.push(client);
        cleanup.push(() => client.quit());
      }
      const http = createServer();
      const io = new Server(http, { adapter: createAdapter(clients[0], clients[1], { key }) });
      io.on("note", (...args) => notes.push({ server: i, args }));
      await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
      cleanup.push(() => new Promise((resolve) => io.close(resolve)));
      servers.push(io);
      const socket = ioc(`http://127.0.0.1:${http.address().port}`, { transports: ["websocket"], reconnection: false });
      await new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      cleanup.push(() => socket.disconnect());
      c.push(socket);
    }
    servers[1].of("/").sockets.get(c[1].id).join("room-a");
    emitter = spawn(EMITTER_BIN, [], {
      env: { ...process.env, REDIS_URL, KEY: key },
      stdio: ["pipe", "pipe", "inherit"],
    });
    replies = createInterface({ input: emitter.stdout })[Symbol.asyncIterator]();
    cleanup.push(() => emitter.kill("SIGKILL"));
    // Both servers subscribed before the first publish.
    await eventually(async () => (await servers[0].of("/").adapter.serverCount()) === 2, "two servers");
  });

  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test("emit reaches every client of every node", async () => {
    const got = c.map((s) => next(s, "news"));
    assert.equal(await send({ op: "emit", event: "news", args: ["hi", 1, { a: [true, null] }] }), "ok");
    assert.deepEqual(await Promise.all(got), [["hi", 1, { a: [true, null] }], ["hi", 1, { a: [true, null] }]]);
  });

  test("emit to a room reaches its members only", async () => {
    const got = next(c[1], "room");
    const silent = never(c[0], "room");
    assert.equal(await send({ op: "emit", to: ["room-a"], event: "room", args: ["a"] }), "ok");
    assert.deepEqual(await got, ["a"]);
    await silent;
  });

  test("except leaves a room out", async () => {
    const got = next(c[0], "rest");
    const silent = never(c[1], "rest");
    assert.equal(await send({ op: "emit", except: ["room-a"], event: "rest", args: [] }), "ok");
    assert.deepEqual(await got, []);
    await silent;
  });

  test("volatile and compress flags are accepted", async () => {
    const got = next(c[0], "flagged");
    assert.equal(
      await send({ op: "emit", to: [c[0].id], volatile: true, compress: false, event: "flagged", args: [3] }),
      "ok",
    );
    assert.deepEqual(await got, [3]);
  });

  test("binary arguments arrive as bytes, nested ones too", async () => {
    const got = next(c[1], "blob");
    assert.equal(
      await send({ op: "emit", to: [c[1].id], event: "blob", args: [{ $bin: "0102ff" }, { nested: [{ $bin: "" }, { $bin: "e9" }] }] }),
      "ok",
    );
    const [blob, { nested }] = await got;
    assert.deepEqual(Buffer.from(blob), Buffer.from([1, 2, 255]));
    assert.deepEqual(nested.map((b) => Buffer.from(b)), [Buffer.alloc(0), Buffer.from([0xe9])]);
  });

  test("a reserved event name is refused", async () => {
    assert.equal(await send({ op: "emit", event: "disconnect", args: [] }), 'error: "disconnect" is a reserved event name');
    assert.equal(await send({ op: "serverSideEmit", event: "connect", args: [] }), 'error: "connect" is a reserved event name');
  });

  test("socketsJoin and socketsLeave move sockets on every node", async () => {
    assert.equal(await send({ op: "socketsJoin", to: ["room-a"], rooms: ["room-b"] }), "ok");
    await eventually(() => servers[1].of("/").adapter.rooms.get("room-b")?.has(c[1].id) === true, "joined room-b");
    assert.equal(servers[0].of("/").adapter.rooms.has("room-b"), false);
    assert.equal(await send({ op: "socketsJoin", rooms: ["room-c", "room-d"] }), "ok");
    await eventually(
      () => servers.every((io, i) => io.of("/").adapter.rooms.get("room-d")?.has(c[i].id) === true),
      "everyone joined room-d",
    );
    assert.equal(await send({ op: "socketsLeave", except: ["room-a"], rooms: ["room-d"] }), "ok");
    await eventually(() => servers[0].of("/").adapter.rooms.has("room-d") === false, "c0 left room-d");
    assert.equal(servers[1].of("/").adapter.rooms.get("room-d")?.has(c[1].id), true);
  });

  test("disconnectSockets closes the sockets of a room", async () => {
    const victim = ioc(c[1].io.uri, { transports: ["websocket"], reconnection: false });
    await next(victim, "connect");
    cleanup.push(() => victim.disconnect());
    const server = servers.find((io) => io.of("/").sockets.has(victim.id));
    server.of("/").sockets.get(victim.id).join("room-v");
    const reason = next(victim, "disconnect");
    assert.equal(await send({ op: "disconnectSockets", to: ["room-v"], close: true }), "ok");
    assert.equal((await reason)[0], "io server disconnect");
    assert.equal(c[0].connected && c[1].connected, true);
  });

  test("serverSideEmit reaches every node's handlers", async () => {
    notes.length = 0;
    assert.equal(await send({ op: "serverSideEmit", event: "note", args: [1, { two: 2 }] }), "ok");
    await eventually(() => notes.length === 2, "both servers got the note");
    assert.deepEqual(
      notes.sort((a, b) => a.server - b.server),
      [{ server: 0, args: [1, { two: 2 }] }, { server: 1, args: [1, { two: 2 }] }],
    );
  });
});
