// Delivery under faults, with the official client (socket.io-client 4.8) and the streams
// adapter on three Rust nodes: while two emitters on two nodes send a steady stream to
// the clients' rooms, the clients' TCP connections are killed every 1.5 s (they come back
// on the same node, then on another), and then the node half of them are on is killed
// (SIGKILL) and started again. Every non-volatile event must arrive, once, in stream
// order, and every reconnection must recover the socket.
//
//   cargo build -p actix-socketio-redis --example cluster_node
//   node --test tests/js/recovery.faults.test.mjs     (Redis on 127.0.0.1:6379)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { call, connect, dropKeys, startCluster, uniqueKey, waitForCount } from "./support/cluster.mjs";

const RECOVERY_MS = 15_000;
const CLIENTS = 6;
/** How long each scenario streams and kills. */
const STREAM_MS = 6_000;
/** Between two events of one emitter. */
const TICK_MS = 40;
/** Between two kills of one client's connection. */
const KILL_EVERY_MS = 1_500;
/** How long the last events may take to arrive once the stream stops. */
const DRAIN_MS = 8_000;

/** Stream offsets compare as (ms, seq). */
function isBefore(a, b) {
  const [am, as] = a.split("-").map(BigInt);
  const [bm, bs] = b.split("-").map(BigInt);
  return am < bm || (am === bm && as < bs);
}

/** A client in room "all" and its own room, recording every event and reconnection. */
async function watcher(node, i) {
  const socket = await connect(node, {
    reconnection: true,
    reconnectionDelay: 300,
    reconnectionDelayMax: 1_000,
  });
  const w = { i, socket, id: socket.id, got: [], reconnections: [], lostAt: null };
  socket.on("tick", (from, seq, offset) => w.got.push({ from, seq, offset }));
  socket.on("disconnect", () => {
    w.lostAt = Date.now();
  });
  socket.on("connect", () => {
    w.reconnections.push({ recovered: socket.recovered, id: socket.id, after: Date.now() - w.lostAt });
  });
  assert.equal(await call(socket, "join", "all"), true);
  assert.equal(await call(socket, "join", `own-${i}`), true);
  return w;
}

/** Kills the client's TCP connection (the server sees it close, the client reconnects). */
function killConnection(w) {
  w.socket.io.engine.transport.ws._socket.destroy();
}

/**
 * Emits from `socket` every TICK_MS until `stop()`: to everyone in "all", and to one of the
 * clients' own rooms in turn. Returns what each room was sent (acked by the node).
 */
function emitter(socket, name) {
  const sent = { all: [], own: Array.from({ length: CLIENTS }, () => []) };
  let running = true;
  const done = (async () => {
    for (let seq = 0; running; seq++) {
      const own = seq % CLIENTS;
      assert.equal(await call(socket, "emit", { to: ["all"], event: "tick", args: [name, seq] }), true);
      sent.all.push(seq);
      assert.equal(await call(socket, "emit", { to: [`own-${own}`], event: "tick", args: [name, -seq - 1] }), true);
      sent.own[own].push(-seq - 1);
      // A volatile event now and then: never counted, never replayed.
      if (seq % 5 === 0) await call(socket, "emit", { to: ["all"], event: "flash", args: [seq], volatile: true });
      await sleep(TICK_MS);
    }
  })();
  return {
    sent,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Every watcher got every event sent to it, once, in stream order, and recovered. */
async function assertDelivered(watchers, emitters) {
  const expected = (w) => {
    const all = new Set();
    for (const e of emitters) {
      for (const seq of e.sent.all) all.add(`${e.name}:${seq}`);
      for (const seq of e.sent.own[w.i]) all.add(`${e.name}:${seq}`);
    }
    return all;
  };
  const deadline = Date.now() + DRAIN_MS;
  for (const w of watchers) {
    const want = expected(w).size;
    while (w.got.length < want && Date.now() < deadline) await sleep(50);
  }
  await sleep(300);
  for (const w of watchers) {
    const want = expected(w);
    const keys = w.got.map((g) => `${g.from}:${g.seq}`);
    const missing = [...want].filter((k) => !keys.includes(k));
    assert.deepEqual(missing, [], `client ${w.i}: nothing missing (${w.reconnections.length} reconnections)`);
    assert.equal(new Set(keys).size, keys.length, `client ${w.i}: no duplicates`);
    assert.equal(keys.length, want.size, `client ${w.i}: nothing else`);
    for (let k = 1; k < w.got.length; k++) {
      assert.ok(isBefore(w.got[k - 1].offset, w.got[k].offset), `client ${w.i}: stream order at ${k}`);
    }
    for (const e of emitters) {
      const mine = w.got.filter((g) => g.from === e.name && g.seq >= 0).map((g) => g.seq);
      assert.deepEqual(mine, [...mine].sort((a, b) => a - b), `client ${w.i}: ${e.name}'s events in its order`);
    }
    assert.ok(w.reconnections.length >= 2, `client ${w.i} reconnected ${w.reconnections.length} times`);
    for (const r of w.reconnections) {
      assert.deepEqual({ recovered: r.recovered, id: r.id }, { recovered: true, id: w.id }, `client ${w.i}`);
      assert.ok(r.after < RECOVERY_MS, `client ${w.i} came back after ${r.after} ms`);
    }
  }
}

/** Three nodes, two emitters (on nodes 0 and 1), CLIENTS clients on nodes 1 and 2. */
function scenario(name, faults) {
  describe(`delivery under faults: ${name}`, { timeout: 90_000 }, () => {
    const key = uniqueKey(`faults-${name.replaceAll(" ", "-")}`);
    let nodes;
    let watchers = [];
    let senders = [];

    before(async () => {
      nodes = await startCluster(["rust", "rust", "rust"], { key, adapter: "streams", recoveryMs: RECOVERY_MS });
      senders = [await connect(nodes[0]), await connect(nodes[1])];
      for (let i = 0; i < CLIENTS; i++) watchers.push(await watcher(nodes[1 + (i % 2)], i));
    });

    after(async () => {
      for (const w of watchers) w.socket.disconnect();
      for (const s of senders) s.disconnect();
      await Promise.all((nodes ?? []).map((n) => n.stop()));
      await dropKeys(key);
    });

    test("every non-volatile event arrives once, in order, and every socket recovers", { timeout: 60_000 }, async () => {
      const emitters = senders.map((s, k) => ({ name: `e${k}`, ...emitter(s, `e${k}`) }));
      await faults({ nodes, watchers });
      for (const e of emitters) await e.stop();
      await assertDelivered(watchers, emitters);
    });
  });
}

/** Every KILL_EVERY_MS, each client's connection in turn, for `ms`; `where` picks the
 * node it comes back on. */
async function killConnections(watchers, where, ms = STREAM_MS) {
  const until = Date.now() + ms;
  for (let round = 0; Date.now() < until; round++) {
    for (const w of watchers) {
      await sleep(KILL_EVERY_MS / watchers.length);
      if (!w.socket.connected) continue;
      const node = where(w, round);
      if (node) w.socket.io.uri = node.url;
      killConnection(w);
    }
  }
}

scenario("connections killed, back on the same node", async ({ watchers }) => {
  await killConnections(watchers, () => null);
});

scenario("connections killed, back on another node", async ({ nodes, watchers }) => {
  await killConnections(watchers, (w, round) => nodes[(w.i + round + 1) % 3]);
});

scenario("connections killed, then their node killed", async ({ nodes, watchers }) => {
  await killConnections(watchers, () => null, STREAM_MS / 2);
  // Node 2 dies without closing anything; its clients find node 0 next time.
  const doomed = nodes[2];
  for (const w of watchers) if (w.socket.io.uri === doomed.url) w.socket.io.uri = nodes[0].url;
  await doomed.kill();
  await sleep(2_000);
  nodes[2] = await doomed.restart();
  await waitForCount(nodes, 3);
  // And everyone's connection once more, onto the restarted node.
  for (const w of watchers) {
    w.socket.io.uri = nodes[2].url;
    killConnection(w);
    await sleep(200);
  }
  await sleep(1_500);
});
