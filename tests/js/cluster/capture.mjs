// Records the bytes Node's Redis adapters and emitter put on Redis, for the Rust codec's
// tests (crates/actix-socketio-redis/tests/fixtures/node-wire.json).
//
//   node tests/js/cluster/capture.mjs [out.json]     (Redis at REDIS_URL, default local)
//
// Real socket.io 4.8 servers with @socket.io/redis-adapter 8.3.0 (classic and sharded),
// @socket.io/redis-streams-adapter 0.3.1 and @socket.io/redis-emitter 5.1.0, with
// socket.io-client 4.8 clients, do every cluster operation once. How the bytes are taken:
// - classic, emitter, streams pub/sub: a spy connection PSUBSCRIBEs the key's channels
//   (pattern subscriptions do not count in PUBSUB NUMSUB, so the nodes' server count
//   stays 2);
// - sharded: the nodes' publishing clients are wrapped to record what they SPUBLISH, since
//   a spy SSUBSCRIBEd to the main channel would count as a server (SHARDNUMSUB);
// - streams entries: XRANGE of the stream; the session: GET of its key.
// Each record has the channel, the bytes in hex and Node's own decoding of them (`node`:
// JSON with {"$bin": hex} for a Buffer and {"$date": iso} for a Date).
import { createServer } from "node:http";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Server } from "socket.io";
import { io as ioc } from "socket.io-client";
import { createClient } from "redis";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { Emitter } from "@socket.io/redis-emitter";
import notepack from "notepack.io";
import { decode as msgpackDecode } from "@msgpack/msgpack";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const OUT =
  process.argv[2] ??
  fileURLToPath(
    new URL("../../../crates/actix-socketio-redis/tests/fixtures/node-wire.json", import.meta.url),
  );
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const SETTLE_MS = 150;

const records = [];
const ids = {};
const cleanup = [];

/** Node's view of a decoded value, as JSON the Rust test can read. */
function view(value) {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return { $bin: Buffer.from(value).toString("hex") };
  }
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
  if (value instanceof Date) return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  if (Array.isArray(value)) return value.map(view);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, view(v)]));
  }
  return value;
}

function decodeNode(bytes, flavor) {
  if (bytes[0] === 0x7b) return JSON.parse(bytes.toString());
  return view(flavor === "msgpack" ? msgpackDecode(bytes) : notepack.decode(bytes));
}

async function redis() {
  const client = createClient({ url: REDIS_URL });
  client.on("error", () => {});
  await client.connect();
  cleanup.push(() => client.quit().catch(() => {}));
  return client;
}

/** A socket.io server on a free port with the given adapter factory. */
async function node(adapter, opts = {}) {
  const http = createServer();
  const io = new Server(http, { adapter, ...opts });
  io.of("/custom");
  io.on("connection", (socket) => {
    socket.on("join", (room, cb) => {
      socket.join(room);
      cb(true);
    });
  });
  io.on("ping", (data, cb) => cb("pong:" + data));
  io.on("note", () => {});
  await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => io.close());
  return { io, port: http.address().port, uid: io.of("/").adapter.uid };
}

async function client(port, ack) {
  const socket = ioc(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true });
  socket.on("ask", (arg, cb) => cb(ack(arg)));
  socket.onAny(() => {});
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  cleanup.push(() => socket.disconnect());
  return socket;
}

/** Runs `action` and returns what the log got meanwhile. */
async function during(log, action) {
  const start = log.length;
  await action();
  await sleep(SETTLE_MS);
  return log.slice(start);
}

function record(name, { channel, bytes }, flavor = "notepack", extra = {}) {
  records.push({ name, channel, hex: bytes.toString("hex"), node: decodeNode(bytes, flavor), ...extra });
}

/** Records the one message of `log` on `channel` (or the i-th of them). */
function pick(name, messages, channel, i = 0, flavor) {
  const found = messages.filter((m) => m.channel === channel);
  if (!found[i]) throw new Error(`${name}: no message #${i} on ${channel} (got ${messages.map((m) => m.channel)})`);
  record(name, found[i], flavor);
}

async function spy(pattern) {
  const sub = await redis();
  const log = [];
  await sub.pSubscribe(pattern, (bytes, channel) => log.push({ channel: channel.toString(), bytes }), true);
  return log;
}

async function classic() {
  const KEY = "fixture";
  const log = await spy(`${KEY}*`);
  const mk = async () => {
    const pub = await redis();
    const sub = await redis();
    return node(createAdapter(pub, sub, { key: KEY }));
  };
  const a = await mk();
  const b = await mk();
  const b1 = await client(b.port, (arg) => ({ ok: arg }));
  const b2 = await client(b.port, () => Buffer.from([9, 8, 7]));
  const b3 = await client(b.port, () => null);
  const s1 = b.io.of("/").sockets.get(b1.id);
  s1.join("r1");
  s1.data = { name: "bob", n: 1 };
  Object.assign(ids, { classicA: a.uid, classicB: b.uid, classicB1: b1.id, classicB3: b3.id });
  await sleep(SETTLE_MS);

  const ch = `${KEY}#/#`;
  const req = `${KEY}-request#/#`;
  const res = `${KEY}-response#/#`;
  const bc = async (name, action, channel = ch) => pick(name, await during(log, action), channel);

  await bc("classic.broadcast.all", () => a.io.emit("hello", "world"));
  await bc("classic.broadcast.room", () => a.io.to("r1").emit("hello", 1), `${ch}r1#`);
  await bc("classic.broadcast.rooms_except_flags", () =>
    a.io.to(["r1", "r2"]).except("r3").volatile.compress(false).emit("hello", { a: 1 }, [true, null]),
  );
  await bc("classic.broadcast.binary", () =>
    a.io.emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]), list: [Buffer.alloc(300, 7)] }, new Uint8Array([5, 6])),
  );
  await bc("classic.broadcast.dates", () =>
    a.io.emit("dates", new Date(0), new Date(1700000000123), new Date(-1), new Date(Date.UTC(2600, 0, 1)), new Date(Date.UTC(2020, 1, 29, 12))),
  );
  await bc("classic.broadcast.ints", () =>
    a.io.emit("ints", 0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2 ** 53 - 1, 2 ** 53 + 2,
      -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -(2 ** 53 - 1)),
  );
  await bc("classic.broadcast.floats", () => a.io.emit("floats", 0.5, -1.25, Math.PI, 1e21, 1.5e-7, -0, 1e300));
  await bc("classic.broadcast.strings", () =>
    a.io.emit("strings", "", "é😀\n\"", "x".repeat(31), "x".repeat(32), "y".repeat(300),
      Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])), Array(20).fill(true)),
  );
  await bc("classic.broadcast.namespace", () => a.io.of("/custom").emit("hi"), `${KEY}#/custom#`);

  let msgs = await during(log, () => a.io.timeout(1000).emitWithAck("ask", 42).catch(() => {}));
  pick("classic.request.broadcast_ack", msgs, req);
  pick("classic.response.client_count", msgs, res, 0);
  const acks = msgs.filter((m) => m.channel === res).slice(1);
  if (acks.length !== 3) throw new Error(`expected 3 acks, got ${acks.length}`);
  for (const m of acks) {
    const decoded = notepack.decode(m.bytes);
    const kind = Buffer.isBuffer(decoded.packet) ? "binary" : decoded.packet === null ? "null" : "object";
    record(`classic.response.broadcast_ack.${kind}`, m);
  }

  msgs = await during(log, () => a.io.of("/").adapter.allRooms());
  pick("classic.request.all_rooms", msgs, req);
  pick("classic.response.all_rooms", msgs, res);
  msgs = await during(log, () => a.io.in("r1").fetchSockets());
  pick("classic.request.fetch", msgs, req);
  pick("classic.response.fetch", msgs, res);
  await bc("classic.request.join", () => a.io.in("r1").socketsJoin("r4"), req);
  await bc("classic.request.leave", () => a.io.in("r1").except("r9").socketsLeave("r4"), req);
  await bc("classic.request.disconnect", () => a.io.in("nobody").disconnectSockets(true), req);
  await bc("classic.request.server_side_emit", () => a.io.serverSideEmit("note", 1, "two"), req);
  msgs = await during(log, () => a.io.serverSideEmitWithAck("ping", "x"));
  pick("classic.request.server_side_emit_ack", msgs, req);
  pick("classic.response.server_side_emit", msgs, res);

  // Requests 8.x no longer sends (type 0, the sid forms of 2-4), written as the adapters
  // that sent them did; the answers are Node's.
  const pub = await redis();
  const crafted = async (name, request) => {
    const m = await during(log, () => pub.publish(req, JSON.stringify(request)));
    record(`${name}.request`, m.find((x) => x.channel === req), "notepack", { crafted: true });
    const answers = m.filter((x) => x.channel === res);
    if (answers.length) record(`${name}.response`, answers[answers.length - 1]);
  };
  await crafted("classic.legacy.sockets", { uid: "legacy", requestId: "req000", type: 0, rooms: ["r1"] });
  await crafted("classic.legacy.join", { uid: "legacy", requestId: "req001", type: 2, sid: b1.id, room: "legacy" });
  await crafted("classic.legacy.leave", { uid: "legacy", requestId: "req002", type: 3, sid: b1.id, room: "legacy" });
  await crafted("classic.legacy.disconnect", { uid: "legacy", requestId: "req003", type: 4, sid: b3.id, close: false });

  // The emitter, against the same nodes.
  const emitter = new Emitter(await redis(), { key: KEY });
  await bc("emitter.broadcast.all", () => emitter.emit("hello", "world"));
  await bc("emitter.broadcast.room", () => emitter.to("r1").emit("hello", 1), `${ch}r1#`);
  await bc("emitter.broadcast.rooms_except_flags", () =>
    emitter.to(["r1", "r2"]).except("r3").volatile.compress(false).emit("hello", { a: 1 }, [true, null]),
  );
  await bc("emitter.broadcast.binary", () => emitter.emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) }));
  await bc("emitter.broadcast.namespace", () => emitter.of("custom").emit("hi", 1), `${KEY}#/custom#`);
  await bc("emitter.request.join", () => emitter.in("r1").socketsJoin("r5"), req);
  await bc("emitter.request.join_all", () => emitter.socketsJoin(["r6", "r7"]), req);
  await bc("emitter.request.leave", () => emitter.in("r1").except("r2").socketsLeave("r5"), req);
  await bc("emitter.request.disconnect", () => emitter.in("nobody").disconnectSockets(true), req);
  await bc("emitter.request.server_side_emit", () => emitter.serverSideEmit("note", 1, { two: 2 }), req);
}

async function sharded() {
  const KEY = "fixture-sharded";
  const log = [];
  const mk = async () => {
    const pub = await redis();
    const sub = await redis();
    const sPublish = pub.sPublish.bind(pub);
    pub.sPublish = (channel, payload) => {
      log.push({ channel, bytes: Buffer.from(payload) });
      return sPublish(channel, payload);
    };
    return node(createShardedAdapter(pub, sub, { channelPrefix: KEY }));
  };
  const c = await mk();
  const d = await mk();
  const d1 = await client(d.port, (arg) => ({ ok: arg }));
  const d2 = await client(d.port, () => Buffer.from([9, 8, 7]));
  const s1 = d.io.of("/").sockets.get(d1.id);
  s1.join("r1");
  s1.data = { name: "bob", avatar: Buffer.from([1, 2]) };
  const s2 = d.io.of("/").sockets.get(d2.id);
  s2.join("r2");
  s2.data = { name: "ann" };
  Object.assign(ids, { shardedC: c.uid, shardedD: d.uid, shardedD1: d1.id });
  await sleep(SETTLE_MS);

  const ch = `${KEY}#/#`;
  const toC = `${KEY}#/#${c.uid}#`;
  const bc = async (name, action, channel = ch) => pick(name, await during(log, action), channel);
  await bc("sharded.broadcast.all", () => c.io.emit("hello", "world"));
  await bc("sharded.broadcast.room", () => c.io.to("r1").emit("hello", 1), `${ch}r1#`);
  await bc("sharded.broadcast.socket_id", () => c.io.to(d1.id).emit("hello", 2));
  await bc("sharded.broadcast.rooms_except_flags", () =>
    c.io.to(["r1", "r2"]).except("r3").volatile.compress(false).emit("hello", { a: 1 }, [true, null]),
  );
  await bc("sharded.broadcast.dates_json", () => c.io.emit("dates", new Date(1700000000123), 1.5));
  await bc("sharded.broadcast.binary", () =>
    c.io.emit("bin", Buffer.from([1, 2, 3]), { nested: Buffer.from([4]) }, -2147483649),
  );
  await bc("sharded.broadcast.binary_date", () =>
    c.io.emit("bin", Buffer.from([1]), new Date(1700000000123)),
  );
  let msgs = await during(log, () => c.io.timeout(1000).emitWithAck("ask", 42).catch(() => {}));
  pick("sharded.broadcast.with_ack", msgs, ch);
  pick("sharded.response.client_count", msgs, toC);
  const acks = msgs.filter((m) => m.channel === toC).slice(1);
  for (const m of acks) {
    record(`sharded.response.broadcast_ack.${m.bytes[0] === 0x7b ? "json" : "binary"}`, m);
  }
  await bc("sharded.join", () => c.io.in("r1").socketsJoin("r4"));
  await bc("sharded.leave", () => c.io.in("r1").except("r9").socketsLeave("r4"));
  await bc("sharded.disconnect", () => c.io.in("nobody").disconnectSockets(true));
  msgs = await during(log, () => c.io.in("r1").fetchSockets());
  pick("sharded.fetch", msgs, ch);
  pick("sharded.response.fetch.binary", msgs, toC);
  msgs = await during(log, () => c.io.in("r2").fetchSockets());
  pick("sharded.response.fetch.json", msgs, toC);
  await bc("sharded.server_side_emit", () => c.io.serverSideEmit("note", 1, "two"));
  msgs = await during(log, () => c.io.serverSideEmitWithAck("ping", "x"));
  pick("sharded.server_side_emit_ack", msgs, ch);
  pick("sharded.response.server_side_emit", msgs, toC);
}

async function streams() {
  const KEY = "fixture-streams";
  const stream = `${KEY}-stream`;
  const admin = await redis();
  await admin.del(stream);
  const log = await spy(`${KEY}#*`);
  const mk = async () => {
    const pub = await redis();
    return node(
      createStreamsAdapter(pub, { streamName: stream, channelPrefix: KEY, sessionKeyPrefix: `${KEY}-session:` }),
      { connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true } },
    );
  };
  const e = await mk();
  const f = await mk();
  const f1 = await client(f.port, (arg) => ({ ok: arg }));
  const s1 = f.io.of("/").sockets.get(f1.id);
  s1.join("r1");
  s1.data = { name: "bob" };
  Object.assign(ids, { streamsE: e.uid, streamsF: f.uid, streamsF1: f1.id });
  await sleep(SETTLE_MS);

  const ch = `${KEY}#/#`;
  const toE = `${KEY}#/#${e.uid}#`;
  // Stream entries: non-ephemeral messages.
  e.io.emit("hello", "world");
  e.io.to("r1").except("r3").volatile.emit("bin", Buffer.from([1, 2, 3]), 2 ** 53 + 2, -(2 ** 40), 1.5);
  e.io.in("r1").socketsJoin("r4");
  e.io.in("r1").socketsLeave("r4");
  e.io.in("nobody").disconnectSockets(true);
  await sleep(SETTLE_MS * 2);
  const names = ["broadcast.json", "broadcast.binary", "join", "leave", "disconnect"];
  const entries = await admin.xRange(stream, "-", "+");
  if (entries.length !== names.length) throw new Error(`expected ${names.length} entries, got ${entries.length}`);
  entries.forEach((entry, i) => {
    const data = entry.message.data;
    const node = { ...entry.message };
    if (data !== undefined) {
      node.data = data.startsWith("{") ? JSON.parse(data) : view(msgpackDecode(Buffer.from(data, "base64")));
    }
    records.push({ name: `streams.entry.${names[i]}`, stream, id: entry.id, fields: entry.message, node });
  });

  // Pub/sub: ephemeral messages and responses, whole messages in @msgpack/msgpack.
  let msgs = await during(log, () => e.io.timeout(1000).emitWithAck("ask", 42).catch(() => {}));
  pick("streams.pubsub.broadcast_with_ack", msgs, ch, 0, "msgpack");
  pick("streams.pubsub.client_count", msgs, toE, 0, "msgpack");
  pick("streams.pubsub.broadcast_ack", msgs, toE, 1, "msgpack");
  msgs = await during(log, () => e.io.in("r1").fetchSockets());
  pick("streams.pubsub.fetch", msgs, ch, 0, "msgpack");
  pick("streams.pubsub.fetch_response", msgs, toE, 0, "msgpack");
  msgs = await during(log, () => e.io.serverSideEmitWithAck("ping", "x"));
  pick("streams.pubsub.server_side_emit_ack", msgs, ch, 0, "msgpack");
  pick("streams.pubsub.server_side_emit_response", msgs, toE, 0, "msgpack");

  // A session, saved when the client's transport closes.
  const pid = s1.pid;
  f1.io.opts.reconnection = false;
  f1.io.engine.close();
  await sleep(SETTLE_MS * 2);
  const value = await admin.get(`${KEY}-session:${pid}`);
  if (!value) throw new Error("no session saved");
  records.push({
    name: "streams.session",
    key: `${KEY}-session:${pid}`,
    value,
    node: view(msgpackDecode(Buffer.from(value, "base64"))),
  });
  await admin.del([stream, `${KEY}-session:${pid}`]);
}

try {
  await classic();
  await sharded();
  await streams();
  const out = {
    generated_by: "tests/js/cluster/capture.mjs",
    versions: {
      "socket.io": (await import("socket.io/package.json", { with: { type: "json" } })).default.version,
      "@socket.io/redis-adapter": "8.3.0",
      "@socket.io/redis-emitter": "5.1.0",
      "@socket.io/redis-streams-adapter": "0.3.1",
    },
    ids,
    records,
  };
  writeFileSync(OUT, JSON.stringify(out, null, 1) + "\n");
  console.log(`${records.length} records written to ${OUT}`);
} finally {
  for (const fn of cleanup.reverse()) await fn();
}
process.exit(0);
