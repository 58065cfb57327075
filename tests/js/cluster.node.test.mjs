// Three Node nodes (tests/js/cluster/node.mjs) on the local Redis, driven through every
// operation of the cluster node contract by socket.io-client 4.8: proves the twin and the
// helpers the mixed Rust/Node cluster tests use.
//
//   node --test tests/js/cluster.node.test.mjs     (Redis on 127.0.0.1:6379)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  call,
  connect,
  dropKeys,
  eventually,
  never,
  next,
  startCluster,
  uniqueKey,
  waitForCount,
} from "./support/cluster.mjs";

const TEST_TIMEOUT_MS = 30_000;

for (const adapter of ["classic", "sharded", "streams"]) {
  describe(`an all-Node cluster of 3 (${adapter})`, { timeout: 120_000 }, () => {
    const key = uniqueKey(`node3-${adapter}`);
    let nodes;
    /** One client per node, c[i] on nodes[i]. */
    let c;
    const extra = [];

    before(async () => {
      nodes = await startCluster(["node", "node", "node"], { key, adapter });
      c = await Promise.all(nodes.map((n) => connect(n)));
    });

    after(async () => {
      for (const s of [...(c ?? []), ...extra]) s.disconnect();
      const crashed = (nodes ?? []).filter((n) => n.exited()).map((n) => n.exitInfo());
      await Promise.all((nodes ?? []).map((n) => n.stop()));
      await dropKeys(key);
      assert.deepEqual(crashed, [], "a node exited during the tests");
    });

    test("whoami names the node and the socket", { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const [i, socket] of c.entries()) {
        assert.deepEqual(await call(socket, "whoami"), {
          node: String(nodes[i].port),
          id: socket.id,
          recovered: false,
        });
      }
    });

    test("count is the number of nodes", { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const socket of c) assert.equal(await call(socket, "count"), 3);
    });

    test("emit to a room reaches its members on other nodes only", { timeout: TEST_TIMEOUT_MS }, async () => {
      assert.equal(await call(c[1], "join", "room-a"), true);
      assert.equal(await call(c[2], "join", "room-a"), true);
      const got = [next(c[1], "news"), next(c[2], "news")];
      const silent = never(c[0], "news");
      assert.equal(await call(c[0], "emit", { to: ["room-a"], except: [], event: "news", args: ["hi", 1] }), true);
      assert.deepEqual(await Promise.all(got), [["hi", 1], ["hi", 1]]);
      await silent;
    });

    test("emit to everyone except a room", { timeout: TEST_TIMEOUT_MS }, async () => {
      assert.equal(await call(c[2], "join", "room-x"), true);
      const got = [next(c[0], "all"), next(c[1], "all")];
      const silent = never(c[2], "all");
      await call(c[1], "emit", { to: [], except: ["room-x"], event: "all", args: [{ n: 2 }] });
      assert.deepEqual(await Promise.all(got), [[{ n: 2 }], [{ n: 2 }]]);
      await silent;
      assert.equal(await call(c[2], "leave", "room-x"), true);
    });

    test("a volatile emit reaches connected clients", { timeout: TEST_TIMEOUT_MS }, async () => {
      const got = next(c[2], "flash");
      await call(c[0], "emit", { to: [c[2].id], event: "flash", args: ["now"], volatile: true });
      assert.deepEqual(await got, ["now"]);
    });

    test("binary arguments cross nodes intact", { timeout: TEST_TIMEOUT_MS }, async () => {
      const got = next(c[1], "blob");
      const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
      await call(c[0], "emit", { to: [c[1].id], event: "blob", args: [bytes, { inner: Buffer.from("é") }] });
      const [blob, { inner }] = await got;
      assert.deepEqual(Buffer.from(blob), bytes);
      assert.deepEqual(Buffer.from(inner), Buffer.from("é"));
    });

    test("emitAck collects the acks of every node's clients", { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const s of [c[1], c[2]]) s.on("question", (n, cb) => cb({ from: s.id, n }));
      const answers = await call(c[0], "emitAck", { to: ["room-a"], event: "question", args: [7], timeout: 2000 });
      const expected = [c[1], c[2]].map((s) => ({ from: s.id, n: 7 }));
      expected.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
      assert.deepEqual(answers, expected);
    });

    test("emitAck reports a timeout when a client never acks", { timeout: TEST_TIMEOUT_MS }, async () => {
      c[2].on("silence", () => {});
      const answer = await call(c[0], "emitAck", { to: [c[2].id], event: "silence", args: [], timeout: 500 });
      assert.deepEqual(answer, { error: "operation has timed out" });
    });

    test("fetch lists the sockets of every node, sorted", { timeout: TEST_TIMEOUT_MS }, async () => {
      assert.deepEqual(await call(c[0], "fetch", { in: ["room-a"] }), [c[1].id, c[2].id].sort());
      assert.deepEqual(await call(c[1], "fetch", { in: [] }), c.map((s) => s.id).sort());
      assert.deepEqual(await call(c[2], "fetch", { in: ["nobody-here"] }), []);
    });

    test("sse gets one pong from every other node", { timeout: TEST_TIMEOUT_MS }, async () => {
      assert.deepEqual(
        await call(c[0], "sse", "d"),
        [`pong:${nodes[1].port}:d`, `pong:${nodes[2].port}:d`].sort(),
      );
    });

    test("socketsJoin and socketsLeave move remote sockets", { timeout: TEST_TIMEOUT_MS }, async () => {
      assert.equal(await call(c[0], "socketsJoin", { in: [c[1].id, c[2].id], room: "room-j" }), true);
      await eventually(
        async () => JSON.stringify(await call(c[0], "fetch", { in: ["room-j"] })) === JSON.stringify([c[1].id, c[2].id].sort()),
        "both joined room-j",
      );
      assert.equal(await call(c[2], "socketsLeave", { in: ["room-j"], room: "room-j" }), true);
      await eventually(
        async () => (await call(c[0], "fetch", { in: ["room-j"] })).length === 0,
        "room-j is empty",
      );
    });

    test("remoteEmit reaches one socket on another node", { timeout: TEST_TIMEOUT_MS }, async () => {
      const got = next(c[2], "direct");
      assert.equal(await call(c[0], "remoteEmit", { id: c[2].id, event: "direct", args: ["x", 2] }), 1);
      assert.deepEqual(await got, ["x", 2]);
      assert.equal(await call(c[0], "remoteEmit", { id: "no-such-socket-id-00", event: "direct", args: [] }), 0);
    });

    test("disconnectSockets closes remote sockets in a room", { timeout: TEST_TIMEOUT_MS }, async () => {
      const victim = await connect(nodes[2]);
      extra.push(victim);
      assert.equal(await call(victim, "join", "room-d"), true);
      const reason = next(victim, "disconnect");
      assert.equal(await call(c[0], "disconnectSockets", { in: ["room-d"] }), true);
      assert.deepEqual(await reason, ["io server disconnect", undefined]);
      assert.equal(c[2].connected, true);
    });

    test("a killed node leaves the count, a restarted one comes back", { timeout: 60_000 }, async () => {
      await nodes[2].kill();
      await waitForCount(nodes.slice(0, 2), 2);
      assert.deepEqual(await call(c[0], "sse", "k"), [`pong:${nodes[1].port}:k`]);
      nodes[2] = await nodes[2].restart();
      await waitForCount(nodes, 3);
      c[2] = await connect(nodes[2]);
      assert.deepEqual(await call(c[2], "whoami"), { node: String(nodes[2].port), id: c[2].id, recovered: false });
    });
  });
}

describe("a memory node", { timeout: 30_000 }, () => {
  const key = uniqueKey("memory");
  let nodes;
  before(async () => {
    nodes = await startCluster(["node"], { key, adapter: "memory", recoveryMs: 5000 });
  });
  after(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
  });

  test("counts itself, times sse out and recovers a dropped client", { timeout: TEST_TIMEOUT_MS }, async () => {
    const socket = await connect(nodes[0], { reconnection: true, reconnectionDelay: 100 });
    try {
      assert.equal(await call(socket, "count"), 1);
      // The in-memory adapter only warns and never calls back: the 2 s run out.
      assert.deepEqual(await call(socket, "sse", "x"), { error: "operation has timed out" });
      const id = socket.id;
      await call(socket, "join", "kept");
      // An event with an offset, so the client has something to recover from.
      const got = next(socket, "tick");
      await call(socket, "emit", { to: [id], event: "tick", args: [1] });
      await got;
      const reconnected = next(socket, "connect");
      socket.io.engine.close();
      await reconnected;
      assert.deepEqual(await call(socket, "whoami"), { node: String(nodes[0].port), id, recovered: true });
      assert.deepEqual(await call(socket, "fetch", { in: ["kept"] }), [id]);
    } finally {
      socket.disconnect();
    }
  });
});

describe("an all-Node streams cluster with recovery", { timeout: 60_000 }, () => {
  const key = uniqueKey("recovery");
  let nodes;
  before(async () => {
    nodes = await startCluster(["node", "node"], { key, adapter: "streams", recoveryMs: 10_000 });
  });
  after(async () => {
    await Promise.all((nodes ?? []).map((n) => n.stop()));
    await dropKeys(key);
  });

  test("a client dropped from one node recovers on the other", { timeout: TEST_TIMEOUT_MS }, async () => {
    const sender = await connect(nodes[1]);
    const socket = await connect(nodes[0], { reconnection: true, reconnectionDelay: 1000, reconnectionDelayMax: 1000 });
    try {
      const id = socket.id;
      assert.deepEqual(await call(socket, "whoami"), { node: String(nodes[0].port), id, recovered: false });
      await call(socket, "join", "kept");
      let got = next(socket, "tick");
      await call(sender, "emit", { to: ["kept"], event: "tick", args: [1] });
      const [first, offset] = await got;
      assert.equal(first, 1);
      assert.match(offset, /^\d+-\d+$/);

      // Back on the other node, after an event sent while away.
      socket.io.uri = nodes[1].url;
      const dropped = next(socket, "disconnect");
      // The server sees its transport close, a reason it keeps the session for.
      socket.io.engine.close();
      assert.equal((await dropped)[0], "forced close");
      got = next(socket, "tick");
      await call(sender, "emit", { to: ["kept"], event: "tick", args: [2] });
      const [second, missedOffset] = await got;
      assert.equal(second, 2);
      assert.ok(missedOffset > offset, `${missedOffset} after ${offset}`);
      assert.deepEqual(await call(socket, "whoami"), { node: String(nodes[1].port), id, recovered: true });
      assert.deepEqual(await call(sender, "fetch", { in: ["kept"] }), [id]);
    } finally {
      socket.disconnect();
      sender.disconnect();
    }
  });
});
