// Connection state recovery with the official client (socket.io-client 4.8) against the
// cluster node contract: on one node (ADAPTER=memory) and across nodes with the streams
// adapter (Rust -> Rust, Rust -> Node, Node -> Rust), the client coming back on another
// node after the one it was on was killed (SIGKILL), and pids that cannot be restored.
//
//   cargo build -p actix-socketio-redis --example cluster_node
//   node --test tests/js/recovery.test.mjs     (Redis on 127.0.0.1:6379)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { call, connect, dropKeys, heardWithin, next, startCluster, uniqueKey } from "./support/cluster.mjs";

const RECOVERY_MS = 10_000;
const TEST_TIMEOUT_MS = 30_000;
/** A stream entry id, the offset the streams adapters give. */
const STREAM_OFFSET = /^\d+-\d+$/;

/** A client that reconnects only when told to (`socket.connect()`). */
function client(node, opts = {}) {
  return connect(node, { reconnection: false, ...opts });
}

/** Every `event` `socket` gets from now on, as argument lists, in order. */
function record(socket, event) {
  const got = [];
  socket.on(event, (...args) => got.push(args));
  return got;
}

/** Cuts the client's connection (the server sees its transport close) and waits. */
async function drop(socket) {
  const dropped = next(socket, "disconnect");
  socket.io.engine.close();
  assert.equal((await dropped)[0], "forced close");
}

/** Connects again, on `node` if given; resolves once connected. */
async function reconnect(socket, node) {
  if (node) socket.io.uri = node.url;
  const connected = next(socket, "connect");
  socket.connect();
  await connected;
}

/** Stream offsets compare as (ms, seq). */
function before_(a, b) {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am < bm || (am === bm && as < bs);
}

/** Waits until `got` holds `n` items, or fails after `ms`. */
async function holding(got, n, what, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (got.length < n) {
    if (Date.now() > deadline) throw new Error(`${what}: ${got.length} of ${n} (${JSON.stringify(got)})`);
    await sleep(20);
  }
}

/**
 * A client joins room "kept" on `from`, gets one event, loses its connection; a sender on
 * `sender` emits while it is away (to its room, to its id, volatile, elsewhere); it comes
 * back on `to` and must be the same socket with everything it missed, once, in order.
 */
async function recovers({ from, to, sender, streams }) {
  const s = await client(sender);
  const socket = await client(from);
  try {
    const id = socket.id;
    assert.deepEqual(await call(socket, "whoami"), { node: String(from.port), id, recovered: false });
    assert.equal(await call(socket, "join", "kept"), true);
    const ticks = record(socket, "tick");
    const flashes = record(socket, "flash");
    const others = record(socket, "other");
    await call(s, "emit", { to: ["kept"], event: "tick", args: [1] });
    await holding(ticks, 1, "the first tick");
    const [[one, first]] = ticks;
    assert.equal(one, 1);
    if (streams) assert.match(first, STREAM_OFFSET);

    await drop(socket);
    await call(s, "emit", { to: ["kept"], event: "tick", args: [2] });
    await call(s, "emit", { to: [id], event: "tick", args: [3, { private: true }] });
    await call(s, "emit", { to: ["kept"], event: "flash", args: ["volatile"], volatile: true });
    await call(s, "emit", { to: ["elsewhere"], event: "other", args: [1] });
    await call(s, "emit", { to: [], except: ["kept"], event: "other", args: [2] });
    await call(s, "emit", { to: ["kept"], event: "tick", args: [4] });

    await reconnect(socket, to);
    assert.equal(socket.id, id);
    assert.equal(socket.recovered, true);
    assert.deepEqual(await call(socket, "whoami"), { node: String(to.port), id, recovered: true });
    await holding(ticks, 4, "the missed ticks");
    await call(s, "emit", { to: ["kept"], event: "tick", args: [5] });
    await holding(ticks, 5, "the tick after");
    await sleep(200);
    assert.deepEqual(
      ticks.map((args) => args.slice(0, -1)),
      [[1], [2], [3, { private: true }], [4], [5]],
      "every tick once, in order",
    );
    const offsets = ticks.map((args) => args.at(-1));
    assert.equal(new Set(offsets).size, 5, `distinct offsets ${offsets}`);
    if (streams) {
      for (const offset of offsets) assert.match(offset, STREAM_OFFSET);
      for (let i = 1; i < offsets.length; i++) assert.ok(before_(offsets[i - 1], offsets[i]), `${offsets}`);
    }
    // We never replay a volatile event; Node's streams adapter does (its in-memory
    // recovery does not).
    const replaysVolatile = streams && to.kind === "node";
    assert.deepEqual(
      flashes.map((args) => args[0]),
      replaysVolatile ? ["volatile"] : [],
      "volatile events replayed",
    );
    assert.deepEqual(others, [], "events for others stay theirs");
    // Its rooms came back with it.
    assert.deepEqual(await call(s, "fetch", { in: ["kept"] }), [id]);
  } finally {
    socket.disconnect();
    s.disconnect();
  }
}

/** A fresh socket: a new id, not recovered, nothing replayed. */
/** Sends `socket` one stored event, so that it holds an offset. */
async function storedEvent(socket) {
  const got = next(socket, "tick");
  await call(socket, "emit", { to: [socket.id], event: "tick", args: [1] });
  await got;
}

async function startsAfresh(socket, node, oldId) {
  assert.equal(socket.recovered, false);
  assert.notEqual(socket.id, oldId);
  assert.deepEqual(await call(socket, "whoami"), { node: String(node.port), id: socket.id, recovered: false });
}

describe("recovery on one node (memory)", { timeout: 60_000 }, () => {
  let nodes;
  before(async () => {
    nodes = await startCluster(["rust"], { key: uniqueKey("memory"), adapter: "memory", recoveryMs: RECOVERY_MS });
  });
  after(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
  });

  test("a dropped client comes back with its id, rooms and what it missed", { timeout: TEST_TIMEOUT_MS }, async () => {
    await recovers({ from: nodes[0], to: nodes[0], sender: nodes[0], streams: false });
  });

  test("over HTTP long-polling too", { timeout: TEST_TIMEOUT_MS }, async () => {
    const opts = { transports: ["polling"] };
    const s = await client(nodes[0]);
    const socket = await client(nodes[0], opts);
    try {
      const id = socket.id;
      await call(socket, "join", "p");
      const ticks = record(socket, "tick");
      await call(s, "emit", { to: ["p"], event: "tick", args: [1] });
      await holding(ticks, 1, "the first tick");
      await drop(socket);
      await call(s, "emit", { to: ["p"], event: "tick", args: [2] });
      await reconnect(socket);
      assert.equal(socket.id, id);
      assert.equal(socket.recovered, true);
      await holding(ticks, 2, "the missed tick");
      assert.deepEqual(
        ticks.map((args) => args[0]),
        [1, 2],
      );
    } finally {
      socket.disconnect();
      s.disconnect();
    }
  });

  test("leaving on purpose, or an unknown pid, starts afresh", { timeout: TEST_TIMEOUT_MS }, async () => {
    const socket = await client(nodes[0]);
    try {
      const id = socket.id;
      await storedEvent(socket);
      socket.disconnect();
      await reconnect(socket);
      await startsAfresh(socket, nodes[0], id);
    } finally {
      socket.disconnect();
    }
    const stranger = await client(nodes[0], { auth: { pid: "no-such-pid", offset: "abc-0" } });
    try {
      await startsAfresh(stranger, nodes[0], undefined);
    } finally {
      stranger.disconnect();
    }
  });
});

const PAIRS = [
  ["rust", "rust"],
  ["rust", "node"],
  ["node", "rust"],
];

for (const [fromKind, toKind] of PAIRS) {
  describe(`recovery across nodes, streams adapter (${fromKind} -> ${toKind})`, { timeout: 60_000 }, () => {
    const key = uniqueKey(`streams-${fromKind}-${toKind}`);
    let nodes;
    before(async () => {
      nodes = await startCluster([fromKind, toKind], { key, adapter: "streams", recoveryMs: RECOVERY_MS });
    });
    after(async () => {
      const crashed = (nodes ?? []).filter((n) => n.exited()).map((n) => n.exitInfo());
      await Promise.all((nodes ?? []).map((n) => n.stop()));
      await dropKeys(key);
      assert.deepEqual(crashed, [], "a node exited during the tests");
    });

    test("the client comes back on the other node with its id, rooms and missed events", { timeout: TEST_TIMEOUT_MS }, async () => {
      await recovers({ from: nodes[0], to: nodes[1], sender: nodes[1], streams: true });
    });

    test("and on the node it left, the sender on the other", { timeout: TEST_TIMEOUT_MS }, async () => {
      await recovers({ from: nodes[0], to: nodes[0], sender: nodes[1], streams: true });
    });

    test("an offset the stream does not have, or an unknown pid, starts afresh", { timeout: TEST_TIMEOUT_MS }, async () => {
      // The client's own auth wins over the pid and offset it adds: an offset of the
      // right form that no entry has.
      const socket = await client(nodes[0], { auth: { offset: "1-0" } });
      try {
        const id = socket.id;
        await storedEvent(socket);
        await drop(socket);
        await reconnect(socket, nodes[1]);
        await startsAfresh(socket, nodes[1], id);
      } finally {
        socket.disconnect();
      }
      const stranger = await client(nodes[1], { auth: { pid: "no-such-pid", offset: "1-0" } });
      try {
        await startsAfresh(stranger, nodes[1], undefined);
      } finally {
        stranger.disconnect();
      }
    });
  });
}

describe("a session that outlived its window (streams, RECOVERY_MS 1000)", { timeout: 60_000 }, () => {
  const key = uniqueKey("streams-stale");
  let nodes;
  before(async () => {
    nodes = await startCluster(["rust", "rust"], { key, adapter: "streams", recoveryMs: 1000 });
  });
  after(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
    await dropKeys(key);
  });

  test("starts afresh", { timeout: TEST_TIMEOUT_MS }, async () => {
    const socket = await client(nodes[0]);
    try {
      const id = socket.id;
      await storedEvent(socket);
      await drop(socket);
      await sleep(1500);
      await reconnect(socket, nodes[1]);
      await startsAfresh(socket, nodes[1], id);
    } finally {
      socket.disconnect();
    }
  });
});

describe("the node a client was on is killed (streams, rust)", { timeout: 60_000 }, () => {
  const key = uniqueKey("streams-killed");
  let nodes;
  before(async () => {
    nodes = await startCluster(["rust", "rust"], { key, adapter: "streams", recoveryMs: RECOVERY_MS });
  });
  after(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
    await dropKeys(key);
  });

  test("the client recovers on another node: id, rooms and the events sent after the kill", { timeout: TEST_TIMEOUT_MS }, async () => {
    const [doomed, survivor] = nodes;
    const s = await client(survivor);
    const socket = await client(doomed);
    try {
      const id = socket.id;
      assert.equal(await call(socket, "join", "kept"), true);
      assert.equal(await call(socket, "join", "second"), true);
      const ticks = record(socket, "tick");
      await call(s, "emit", { to: ["kept"], event: "tick", args: [1] });
      await holding(ticks, 1, "the first tick");

      const dropped = next(socket, "disconnect");
      await doomed.kill();
      assert.equal((await dropped)[0], "transport close");
      await call(s, "emit", { to: ["kept"], event: "tick", args: [2] });
      await call(s, "emit", { to: ["second"], event: "tick", args: [3] });
      await call(s, "emit", { to: [id], event: "tick", args: [4] });

      await reconnect(socket, survivor);
      assert.equal(socket.id, id);
      assert.deepEqual(await call(socket, "whoami"), { node: String(survivor.port), id, recovered: true });
      await holding(ticks, 4, "the ticks sent after the kill");
      await sleep(200);
      assert.deepEqual(
        ticks.map((args) => args[0]),
        [1, 2, 3, 4],
      );
      assert.deepEqual(await call(s, "fetch", { in: ["second"] }), [id]);
      assert.deepEqual(await heardWithin(socket, "tick"), []);
    } finally {
      socket.disconnect();
      s.disconnect();
    }
  });
});
