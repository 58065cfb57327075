// The official Node client (socket.io-client, as pinned in package.json) against our
// actix-socketio server: crates/actix-socketio/examples/interop.rs.
//
//   cargo build -p actix-socketio --example interop && node --test tests/js/
//
// Every wait is bounded, so a misbehaving server fails a test instead of hanging it.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { io } from "socket.io-client";

import { startServer } from "./support/server.mjs";

/** Upper bound for anything that should happen "at once". */
const STEP_MS = 3_000;
/** How long a client listens to be sure that a message does not come. */
const QUIET_MS = 300;
/** The server's ping interval + ping timeout (examples/interop.rs): 300 + 200 ms. */
const HEARTBEAT_MS = 500;
/** Per-test limit for node:test. */
const TEST_TIMEOUT_MS = 15_000;

const TRANSPORTS = [["polling"], ["websocket"]];

let server;
/** Every socket a test made, disconnected after it. */
const clients = new Set();

before(async () => {
  // The heartbeat the other constants assume, whatever the environment says.
  server = await startServer({ PING_INTERVAL_MS: "300", PING_TIMEOUT_MS: "200" });
});

after(async () => {
  const crashed = server?.exited();
  const info = server?.exitInfo();
  await server?.stop();
  assert.equal(crashed, false, `the interop server exited during the tests: ${info}`);
});

afterEach(() => {
  for (const socket of clients) {
    socket.disconnect();
    // A socket sharing its manager leaves the engine open for the others; close it too.
    socket.io.engine?.close();
  }
  clients.clear();
});

/**
 * A new client socket (its own connection unless `forceNew: false`), not yet connected; to
 * the shared server unless `base` is another one's URL.
 */
function client(nsp = "/", opts = {}, base = server.url) {
  const socket = io(base + nsp, {
    forceNew: true,
    reconnection: false,
    ...opts,
  });
  clients.add(socket);
  return socket;
}

/**
 * Resolves with the arguments of the next `event` on `emitter`; rejects after `ms`, on a
 * `connect_error` while waiting for `connect`, or when a client socket disconnects while
 * waiting for anything else.
 */
function next(emitter, event, ms = STEP_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${event}" within ${ms} ms`));
    }, ms);
    const onEvent = (...args) => {
      cleanup();
      resolve(args);
    };
    const onConnectError = (err) => {
      cleanup();
      reject(new Error(`connect_error while waiting for "${event}": ${err.message}`));
    };
    const onDisconnect = (reason) => {
      cleanup();
      reject(new Error(`disconnected (${reason}) while waiting for "${event}"`));
    };
    // Only client sockets (not the manager or the engine) have a namespace.
    const watchDisconnect = "nsp" in emitter && !["connect", "disconnect"].includes(event);
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event === "connect") emitter.off("connect_error", onConnectError);
      if (watchDisconnect) emitter.off("disconnect", onDisconnect);
    };
    emitter.on(event, onEvent);
    if (event === "connect") emitter.on("connect_error", onConnectError);
    if (watchDisconnect) emitter.on("disconnect", onDisconnect);
  });
}

/** A connected client socket. */
async function connected(nsp = "/", opts = {}, base = server.url) {
  const socket = client(nsp, opts, base);
  await next(socket, "connect");
  return socket;
}

/** Collects the arguments of every `event` the socket receives, in order. */
function record(socket, event) {
  const seen = [];
  socket.on(event, (...args) => seen.push(args));
  return seen;
}

/** Waits until `predicate()` holds, polling; fails with `what` after `ms`. */
async function until(predicate, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await sleep(5);
  }
}

/** Emits and resolves with the ack's first argument (emitWithAck's contract), bounded. */
function emitAck(socket, event, ...args) {
  return socket.timeout(STEP_MS).emitWithAck(event, ...args);
}

/** Any binary value the client may receive, as a Buffer for comparison. */
function bytes(value) {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new Error(`not binary: ${Object.prototype.toString.call(value)}`);
}

const UNICODE = "안녕하세요 🌏";
/** Nested JSON whose key order is not alphabetical, to see that it is preserved. */
const NESTED = {
  zeta: 1,
  alpha: { yankee: [1, 2.5, { bravo: UNICODE, alpha: null }], xray: false },
  "키": "값",
  emoji: "🌏🚀",
  empty: { list: [], object: {} },
  escapes: "quote \" backslash \\ newline \n tab \t nul \u0000 record-separator \u001e",
  big: Number.MAX_SAFE_INTEGER,
  negative: -42,
};

describe("connection", { timeout: TEST_TIMEOUT_MS }, () => {
  for (const transports of TRANSPORTS) {
    test(`${transports[0]} only: connects, and heartbeats keep it alive`, async () => {
      const socket = await connected("/", { transports });
      const disconnects = record(socket, "disconnect");
      const pings = record(socket.io.engine, "ping");
      assert.equal(socket.io.engine.transport.name, transports[0]);
      const me = await emitAck(socket, "whoami");
      assert.deepEqual(me, { id: socket.id, nsp: "/", transport: transports[0] });

      // Several ping/pong rounds (ping 300 ms, timeout 200 ms) without any traffic.
      await sleep(4 * HEARTBEAT_MS);
      assert.deepEqual(disconnects, []);
      assert.ok(pings.length >= 4, `only ${pings.length} pings in ${4 * HEARTBEAT_MS} ms`);
      assert.equal(socket.connected, true);
      assert.equal(socket.io.engine.transport.name, transports[0]);
      assert.deepEqual(await emitAck(socket, "echo-ack", "still here"), "still here");
    });
  }

  test("default transports: opens with polling and upgrades to websocket", async () => {
    const socket = client("/", { autoConnect: false });
    const opened = next(socket.io, "open");
    socket.connect();
    await opened;
    // The manager's "open" fires before the engine starts probing, so no upgrade is missed.
    const engine = socket.io.engine;
    assert.equal(engine.transport.name, "polling");
    const upgraded = next(engine, "upgrade");
    await next(socket, "connect");
    const [transport] = await upgraded;
    assert.equal(transport.name, "websocket");
    assert.equal(socket.io.engine.transport.name, "websocket");
    const me = await emitAck(socket, "whoami");
    assert.deepEqual(me, { id: socket.id, nsp: "/", transport: "websocket" });

    const disconnects = record(socket, "disconnect");
    const pings = record(socket.io.engine, "ping");
    await sleep(4 * HEARTBEAT_MS);
    assert.deepEqual(disconnects, []);
    assert.ok(pings.length >= 4, `only ${pings.length} pings over websocket`);
    assert.equal(await emitAck(socket, "echo-ack", 1), 1);
  });

  test("each connection gets its own socket id", async () => {
    const [a, b] = await Promise.all([connected(), connected()]);
    assert.equal(typeof a.id, "string");
    assert.ok(a.id.length > 0);
    assert.notEqual(a.id, b.id);
    // The socket id is not the Engine.IO session id.
    assert.notEqual(a.id, a.io.engine.id);
  });
});

describe("an emit with retries in the connect handler", { timeout: 60_000 }, () => {
  // With `retries`, every emit waits for an ack and is sent again without one in time.
  // A GET that comes after `3probe` is answered at the 100 ms upgrade check, as Node does
  // (answering it at once was seen to make the client send such a packet twice). The
  // ackTimeout is the client's: without one, it takes the ack's first argument for an
  // error and sends again by itself, whatever the server.
  test("arrives once, over 40 connections in a row that open with polling and upgrade", async () => {
    const CONNECTIONS = 40;
    const counts = [];
    for (let n = 0; n < CONNECTIONS; n++) {
      const socket = client("/", { retries: 3, ackTimeout: 2_000 });
      const got = record(socket, "room-msg");
      const acked = new Promise((resolve, reject) => {
        socket.once("connect", () => {
          // The socket's id is a room it is in: the server sends one "room-msg" per receipt.
          socket.emit("to-room-all", socket.id, n, (err, ok) => (err ? reject(err) : resolve(ok)));
        });
      });
      const upgraded = new Promise((resolve) => socket.io.once("open", () => socket.io.engine.once("upgrade", resolve)));
      assert.equal(await acked, true);
      await Promise.race([upgraded, sleep(STEP_MS).then(() => assert.fail(`connection ${n} did not upgrade`))]);
      await sleep(100);
      counts.push(got.length);
      assert.deepEqual(got, [[n]], `connection ${n}`);
      socket.disconnect();
      clients.delete(socket);
    }
    assert.deepEqual(counts, Array(CONNECTIONS).fill(1));
  });
});

describe("events", { timeout: TEST_TIMEOUT_MS }, () => {
  for (const transports of [...TRANSPORTS, undefined]) {
    const name = transports?.[0] ?? "default transports";

    test(`${name}: unicode and nested JSON both ways, key order kept`, async () => {
      const socket = await connected("/", transports && { transports });
      const echoed = record(socket, "echo");
      socket.emit("echo", UNICODE);
      socket.emit("echo", NESTED);
      socket.emit("echo", 1, "two", [3], { four: 4 }, null, true);
      socket.emit("echo");
      await until(() => echoed.length === 4, "4 echoes");
      assert.deepEqual(echoed[0], [UNICODE]);
      assert.equal(JSON.stringify(echoed[1]), JSON.stringify([NESTED]));
      assert.deepEqual(echoed[1], [NESTED]);
      assert.deepEqual(echoed[2], [1, "two", [3], { four: 4 }, null, true]);
      assert.deepEqual(echoed[3], []);
    });
  }

  test("an event with a reserved-looking but legal name and a numeric-looking name", async () => {
    const socket = await connected();
    // Not handled by the server: it must simply be ignored, and the connection must stay.
    socket.emit("message", "x");
    socket.emit("123", "y");
    assert.equal(await emitAck(socket, "echo-ack", "after"), "after");
    assert.equal(socket.connected, true);
  });
});

describe("acks", { timeout: TEST_TIMEOUT_MS }, () => {
  for (const transports of TRANSPORTS) {
    test(`${transports[0]}: client → server acks, one and several arguments`, async () => {
      const socket = await connected("/", { transports });
      assert.equal(await emitAck(socket, "echo-ack", UNICODE), UNICODE);
      const nested = await emitAck(socket, "echo-ack", NESTED);
      assert.equal(JSON.stringify(nested), JSON.stringify(NESTED));
      const args = await new Promise((resolve) => {
        socket.emit("echo-ack", 1, "two", { three: [3] }, (...ackArgs) => resolve(ackArgs));
      });
      assert.deepEqual(args, [1, "two", { three: [3] }]);
    });

    test(`${transports[0]}: server → client acks`, async () => {
      const socket = await connected("/", { transports });
      const questions = [];
      socket.on("question", (...args) => {
        const ack = args.pop();
        questions.push(args);
        ack({ answer: args[0].n * 2, text: UNICODE }, "second");
      });
      const answer = next(socket, "answer");
      socket.emit("ask-client", { n: 21 });
      assert.deepEqual(await answer, [{ answer: 42, text: UNICODE }, "second"]);
      assert.deepEqual(questions, [[{ n: 21 }]]);
    });
  }

  test("client ack timeout: an event nobody handles rejects after the client's timeout", async () => {
    const socket = await connected();
    const started = Date.now();
    await assert.rejects(socket.timeout(200).emitWithAck("no-such-event"), {
      message: "operation has timed out",
    });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 2_000, `rejected after ${elapsed} ms`);
    // The connection is unaffected.
    assert.equal(await emitAck(socket, "echo-ack", "ok"), "ok");
  });

  test("server ack timeout: a client that never answers gets {error: timeout}", async () => {
    const socket = await connected();
    let asked = 0;
    socket.on("question", () => {
      asked += 1; // and never call the ack
    });
    const started = Date.now();
    const answer = next(socket, "answer", 3_000);
    socket.emit("ask-client", "anyone?");
    assert.deepEqual(await answer, [{ error: "timeout" }]);
    const elapsed = Date.now() - started;
    assert.equal(asked, 1);
    // The server waits 1 s.
    assert.ok(elapsed >= 900 && elapsed < 2_500, `answered after ${elapsed} ms`);
  });

  test("server ack timeout: no listener at all for the question", async () => {
    const socket = await connected();
    const answer = next(socket, "answer", 3_000);
    socket.emit("ask-client", 1);
    assert.deepEqual(await answer, [{ error: "timeout" }]);
  });
});

describe("binary", { timeout: TEST_TIMEOUT_MS }, () => {
  const sample = Buffer.from([0, 1, 2, 127, 128, 254, 255, 0x1e, 0x0a]);

  for (const transports of TRANSPORTS) {
    const name = transports[0];

    test(`${name}: Buffer, ArrayBuffer and Uint8Array echo back byte for byte`, async () => {
      const socket = await connected("/", { transports });
      const echoed = record(socket, "echo");
      const uint8 = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      const arrayBuffer = new Uint8Array([255, 0, 255, 0]).buffer;
      const empty = Buffer.alloc(0);
      // Larger than one WebSocket frame header's small form and than typical buffers.
      const large = Buffer.alloc(100_000, 0);
      for (let i = 0; i < large.length; i++) large[i] = (i * 31 + 7) & 0xff;

      socket.emit("echo", sample);
      socket.emit("echo", arrayBuffer);
      socket.emit("echo", uint8);
      socket.emit("echo", empty);
      socket.emit("echo", large);
      await until(() => echoed.length === 5, "5 binary echoes");

      for (const args of echoed) assert.equal(args.length, 1);
      for (const [value] of echoed) assert.ok(Buffer.isBuffer(value), "Node gets a Buffer");
      assert.deepEqual(bytes(echoed[0][0]), sample);
      assert.deepEqual(bytes(echoed[1][0]), Buffer.from([255, 0, 255, 0]));
      assert.deepEqual(bytes(echoed[2][0]), Buffer.from(uint8));
      assert.deepEqual(bytes(echoed[3][0]), empty);
      assert.equal(bytes(echoed[4][0]).length, large.length);
      assert.ok(bytes(echoed[4][0]).equals(large), "the 100 kB buffer came back intact");
    });

    test(`${name}: binary mixed with JSON in one event, and in acks`, async () => {
      const socket = await connected("/", { transports });
      const one = Buffer.from("first ☃", "utf8");
      const two = new Uint8Array([2, 2, 2]).buffer;
      const three = new Uint8Array([3]);
      const message = {
        text: UNICODE,
        file: { name: "a.gif", data: one, sizes: [1, 2] },
        parts: [two, { deep: three }],
      };
      const echo = next(socket, "echo");
      socket.emit("echo", message, "plain", Buffer.from([4, 4]));
      const [got, plain, four] = await echo;
      assert.equal(got.text, UNICODE);
      assert.deepEqual(Object.keys(got), ["text", "file", "parts"]);
      assert.equal(got.file.name, "a.gif");
      assert.deepEqual(got.file.sizes, [1, 2]);
      assert.deepEqual(bytes(got.file.data), one);
      assert.deepEqual(bytes(got.parts[0]), Buffer.from([2, 2, 2]));
      assert.deepEqual(bytes(got.parts[1].deep), Buffer.from([3]));
      assert.equal(plain, "plain");
      assert.deepEqual(bytes(four), Buffer.from([4, 4]));

      // Client → server ack carrying binary.
      const acked = await emitAck(socket, "echo-ack", { blob: sample, n: 1 });
      assert.deepEqual(Object.keys(acked), ["blob", "n"]);
      assert.deepEqual(bytes(acked.blob), sample);
      assert.equal(acked.n, 1);

      // Server → client event with binary, answered by a binary ack.
      socket.on("question", (q, ack) => {
        ack({ got: bytes(q).length, back: Buffer.concat([bytes(q), Buffer.from([99])]) });
      });
      const answer = next(socket, "answer");
      socket.emit("ask-client", Buffer.from([1, 2, 3]));
      const [reply] = await answer;
      assert.equal(reply.got, 3);
      assert.deepEqual(bytes(reply.back), Buffer.from([1, 2, 3, 99]));
    });
  }
});

describe("namespaces", { timeout: TEST_TIMEOUT_MS }, () => {
  test("a dynamic namespace /dyn-42 says hello with its name", async () => {
    const socket = client("/dyn-42");
    const hello = next(socket, "hello");
    await next(socket, "connect");
    assert.deepEqual(await hello, ["/dyn-42"]);
    assert.equal(socket.nsp, "/dyn-42");
  });

  test("an unknown namespace is refused with Invalid namespace", async () => {
    const socket = client("/nope");
    const [err] = await next(socket, "connect_error");
    assert.ok(err instanceof Error);
    assert.equal(err.message, "Invalid namespace");
    assert.equal(socket.connected, false);
  });

  test("/secure without a token: not authorized, with data {code: 401}", async () => {
    const socket = client("/secure");
    const [err] = await next(socket, "connect_error");
    assert.equal(err.message, "not authorized");
    assert.deepEqual(err.data, { code: 401 });
    assert.equal(socket.connected, false);
  });

  test("/secure with a wrong token is refused too", async () => {
    const socket = client("/secure", { auth: { token: "nope" } });
    const [err] = await next(socket, "connect_error");
    assert.equal(err.message, "not authorized");
    assert.deepEqual(err.data, { code: 401 });
  });

  test("/secure with token ok connects", async () => {
    const socket = await connected("/secure", { auth: { token: "ok" } });
    assert.equal(socket.connected, true);
    const echo = next(socket, "echo");
    socket.emit("echo", "secret");
    assert.deepEqual(await echo, ["secret"]);
  });

  test("several namespaces over one connection (multiplexing)", async () => {
    const root = await connected("/", { forceNew: true });
    // Same manager, hence the same Engine.IO connection.
    const dyn = root.io.socket("/dyn-7");
    clients.add(dyn);
    const hello = next(dyn, "hello");
    dyn.connect();
    await next(dyn, "connect");
    assert.deepEqual(await hello, ["/dyn-7"]);
    const refused = root.io.socket("/nope");
    clients.add(refused);
    refused.connect();
    const [err] = await next(refused, "connect_error");
    assert.equal(err.message, "Invalid namespace");

    const rootEcho = next(root, "echo");
    const dynEcho = next(dyn, "echo");
    root.emit("echo", "root");
    dyn.emit("echo", "dyn");
    assert.deepEqual(await rootEcho, ["root"]);
    assert.deepEqual(await dynEcho, ["dyn"]);
    assert.notEqual(root.id, dyn.id);
  });
});

describe("rooms and broadcasts", { timeout: TEST_TIMEOUT_MS }, () => {
  test("join, to-room, to-room-all, except, leave among 3 clients", async () => {
    const [a, b, c] = await Promise.all([
      connected("/", { transports: ["websocket"] }),
      connected("/", { transports: ["polling"] }),
      connected(),
    ]);
    const got = { a: record(a, "room-msg"), b: record(b, "room-msg"), c: record(c, "room-msg") };
    const received = () => ({
      a: got.a.map((args) => args[0]),
      b: got.b.map((args) => args[0]),
      c: got.c.map((args) => args[0]),
    });
    /** Waits for the expected messages, then a quiet period, and checks nothing else came. */
    const expect = async (want, what) => {
      const count = (w) => w.a.length + w.b.length + w.c.length;
      await until(() => count(received()) >= count(want), what);
      await sleep(QUIET_MS);
      assert.deepEqual(received(), want, what);
    };

    assert.equal(await emitAck(a, "join", "room-1"), true);
    assert.equal(await emitAck(b, "join", "room-1"), true);
    assert.deepEqual(await emitAck(a, "rooms"), [a.id, "room-1"].sort());
    assert.deepEqual(await emitAck(c, "rooms"), [c.id]);

    // socket.to(room): the room without the sender.
    assert.equal(await emitAck(a, "to-room", "room-1", "m1"), true);
    await expect({ a: [], b: ["m1"], c: [] }, "to-room from a reaches b only");

    // A sender outside the room reaches everyone in it.
    assert.equal(await emitAck(c, "to-room", "room-1", { m: 2 }), true);
    await expect({ a: [{ m: 2 }], b: ["m1", { m: 2 }], c: [] }, "to-room from c");

    // io.to(room): the whole room, sender included.
    assert.equal(await emitAck(a, "to-room-all", "room-1", "m3"), true);
    await expect(
      { a: [{ m: 2 }, "m3"], b: ["m1", { m: 2 }, "m3"], c: [] },
      "to-room-all from a reaches a and b",
    );

    // io.except(room): everyone outside the room.
    assert.equal(await emitAck(a, "broadcast-except", "room-1", "m4"), true);
    await expect(
      { a: [{ m: 2 }, "m3"], b: ["m1", { m: 2 }, "m3"], c: ["m4"] },
      "except room-1 reaches c only",
    );

    // After leaving, b gets nothing from the room.
    assert.equal(await emitAck(b, "leave", "room-1"), true);
    assert.deepEqual(await emitAck(b, "rooms"), [b.id]);
    assert.equal(await emitAck(c, "to-room-all", "room-1", "m5"), true);
    await expect(
      { a: [{ m: 2 }, "m3", "m5"], b: ["m1", { m: 2 }, "m3"], c: ["m4"] },
      "after b left, room-1 is a alone",
    );
    assert.equal(await emitAck(b, "broadcast-except", "room-1", "m6"), true);
    await expect(
      { a: [{ m: 2 }, "m3", "m5"], b: ["m1", { m: 2 }, "m3", "m6"], c: ["m4", "m6"] },
      "except room-1 now reaches b and c",
    );

    // A socket id is a room too.
    assert.equal(await emitAck(a, "to-room", c.id, "direct"), true);
    await expect(
      { a: [{ m: 2 }, "m3", "m5"], b: ["m1", { m: 2 }, "m3", "m6"], c: ["m4", "m6", "direct"] },
      "to a socket id",
    );
  });

  test("a disconnected socket leaves its rooms", async () => {
    const [a, b] = await Promise.all([connected(), connected()]);
    const got = record(a, "room-msg");
    assert.equal(await emitAck(a, "join", "room-2"), true);
    assert.equal(await emitAck(b, "join", "room-2"), true);
    const bGot = record(b, "room-msg");
    b.disconnect();
    await sleep(100);
    assert.equal(await emitAck(a, "to-room-all", "room-2", "x"), true);
    await until(() => got.length === 1, "a receives its own room message");
    await sleep(QUIET_MS);
    assert.deepEqual(got, [["x"]]);
    assert.deepEqual(bGot, []);
  });
});

describe("server-side disconnect", { timeout: TEST_TIMEOUT_MS }, () => {
  const fast = { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 };

  for (const transports of [...TRANSPORTS, undefined]) {
    const name = transports?.[0] ?? "default transports";

    test(`${name}: socket.disconnect() → "io server disconnect", no reconnection`, async () => {
      const socket = await connected("/", { ...fast, ...(transports && { transports }) });
      const attempts = record(socket.io, "reconnect_attempt");
      const connects = record(socket, "connect");
      const disconnected = next(socket, "disconnect");
      socket.emit("server-disconnect");
      assert.deepEqual((await disconnected)[0], "io server disconnect");
      assert.equal(socket.connected, false);
      assert.equal(socket.active, false);
      await sleep(QUIET_MS + 200);
      assert.deepEqual(attempts, []);
      assert.deepEqual(connects, []);
      assert.equal(socket.connected, false);
    });
  }

  test('socket.disconnect(true) → "io server disconnect" on every namespace of the connection, as with Node', async () => {
    // Node's server sends DISCONNECT to each socket of the connection, then closes it, so
    // the client does not reconnect (socket.io lib/socket.ts disconnect(), client.ts
    // _disconnect()).
    const root = await connected("/", fast);
    const dyn = root.io.socket("/dyn-close");
    clients.add(dyn);
    dyn.connect();
    await next(dyn, "connect");
    const attempts = record(root.io, "reconnect_attempt");
    const managerClosed = next(root.io, "close");
    const rootGone = next(root, "disconnect");
    const dynGone = next(dyn, "disconnect");
    root.emit("close-conn");
    assert.deepEqual((await rootGone)[0], "io server disconnect");
    assert.deepEqual((await dynGone)[0], "io server disconnect");
    await managerClosed;
    await sleep(QUIET_MS + 200);
    assert.deepEqual(attempts, []);
    assert.equal(root.connected, false);
    assert.equal(dyn.connected, false);
  });

  for (const transports of [...TRANSPORTS, undefined]) {
    const name = transports?.[0] ?? "default transports";

    test(`${name}: a dropped connection → "transport close", then the client reconnects with a new id`, async () => {
      const socket = await connected("/", { ...fast, ...(transports && { transports }) });
      const firstId = socket.id;
      const disconnected = next(socket, "disconnect");
      const reconnected = new Promise((resolve) => socket.once("connect", resolve));
      socket.emit("drop-conn");
      const [reason] = await disconnected;
      assert.equal(reason, "transport close");
      await Promise.race([
        reconnected,
        sleep(STEP_MS).then(() => {
          throw new Error("no reconnection");
        }),
      ]);
      assert.equal(socket.connected, true);
      assert.notEqual(socket.id, firstId);
      assert.equal(typeof socket.id, "string");
      const me = await emitAck(socket, "whoami");
      assert.equal(me.id, socket.id);
      assert.equal(await emitAck(socket, "echo-ack", "back"), "back");
    });
  }
});

describe("ordering under load", { timeout: 60_000 }, () => {
  // Its own server, still pinging every 300 ms (so pings interleave with the traffic) but
  // with a 5 s ping timeout: here the Node client's event loop is saturated by 20 clients,
  // and on a loaded 2-core machine its lag can exceed 200 ms, which makes the client (or
  // the server) drop the connection with "ping timeout", as it should. Heartbeats at 200 ms
  // are tested above, on idle connections.
  let loadServer;
  before(async () => {
    loadServer = await startServer({ PING_INTERVAL_MS: "300", PING_TIMEOUT_MS: "5000" });
  });
  after(async () => {
    const crashed = loadServer?.exited();
    const info = loadServer?.exitInfo();
    await loadServer?.stop();
    assert.equal(crashed, false, `the load test's server exited during the test: ${info}`);
  });

  test("20 clients × 100 acked messages on /counter: none lost or reordered", async () => {
    const CLIENTS = 20;
    const MESSAGES = 100;
    const expected = Array.from({ length: MESSAGES }, (_, n) => n);
    // A mix of transports, including clients that upgrade while they send.
    const transportsOf = (i) => [["polling"], ["websocket"], undefined][i % 3];
    const sockets = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        connected("/counter", transportsOf(i) && { transports: transportsOf(i) }, loadServer.url),
      ),
    );

    const results = await Promise.all(
      sockets.map(async (socket, client) => {
        const acks = [];
        const back = record(socket, "seq-back");
        const acked = [];
        for (let n = 0; n < MESSAGES; n++) {
          acked.push(
            socket
              .timeout(20_000)
              .emitWithAck("seq", { client, n })
              .then((value) => acks.push(value)),
          );
        }
        await Promise.all(acked);
        await until(() => back.length >= MESSAGES, `client ${client}: ${MESSAGES} seq-back`, 20_000);
        return { client, acks, back };
      }),
    );

    for (const { client, acks, back } of results) {
      assert.deepEqual(acks, expected, `client ${client}: acks in order`);
      assert.equal(back.length, MESSAGES, `client ${client}: exactly ${MESSAGES} seq-back`);
      assert.deepEqual(
        back,
        expected.map((n) => [{ client, n }]),
        `client ${client}: server saw its messages in order`,
      );
    }
    // Nothing extra arrives afterwards.
    await sleep(QUIET_MS);
    for (const { client, back } of results) assert.equal(back.length, MESSAGES, `client ${client}`);
  });
});
