// Mixed clusters on the local Redis: two Rust nodes (crates/actix-socketio-redis/examples/
// cluster_node.rs) and one Node node (tests/js/cluster/node.mjs, socket.io 4.8 with
// @socket.io/redis-adapter 8.3), classic and sharded, driven by socket.io-client 4.8
// through every operation of the cluster node contract, started once from a Rust node and
// once from the Node node. One client per node, and a polling-only one on the second Rust
// node. Then nodes are killed and restarted.
//
//   cargo build -p actix-socketio-redis --example cluster_node
//   node --test tests/js/cluster.mixed.test.mjs     (Redis on 127.0.0.1:6379)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  call,
  connect,
  eventually,
  heardWithin,
  next,
  startCluster,
  uniqueKey,
  waitForCount,
} from "./support/cluster.mjs";

const TEST_TIMEOUT_MS = 30_000;

const byJson = (a, b) => {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

for (const adapter of ["classic", "sharded"]) {
  describe(`a cluster of 2 Rust nodes and 1 Node node (${adapter})`, { timeout: 240_000 }, () => {
    const key = uniqueKey(`mixed-${adapter}`);
    /** nodes[0] and nodes[1] are Rust, nodes[2] is Node. */
    let nodes;
    /** The clients: on each node, and a polling-only one on nodes[1]. */
    const c = {};
    const extra = [];
    const all = () => [c.rust0, c.rust1, c.polling, c.node];

    before(async () => {
      nodes = await startCluster(["rust", "rust", "node"], { key, adapter });
      c.rust0 = await connect(nodes[0]);
      c.rust1 = await connect(nodes[1]);
      c.polling = await connect(nodes[1], { transports: ["polling"] });
      c.node = await connect(nodes[2]);
    });

    after(async () => {
      for (const s of [...Object.values(c), ...extra]) s?.disconnect();
      const crashed = (nodes ?? []).filter((n) => n.exited()).map((n) => n.exitInfo());
      await Promise.all((nodes ?? []).map((n) => n.stop()));
      assert.deepEqual(crashed, [], "a node exited during the tests");
    });

    test("whoami names each node and socket; the polling client polls", { timeout: TEST_TIMEOUT_MS }, async () => {
      const where = [
        [c.rust0, nodes[0]],
        [c.rust1, nodes[1]],
        [c.polling, nodes[1]],
        [c.node, nodes[2]],
      ];
      for (const [socket, node] of where) {
        assert.deepEqual(await call(socket, "whoami"), { node: String(node.port), id: socket.id, recovered: false });
        assert.equal(socket.id.length, 20);
      }
      assert.equal(c.polling.io.engine.transport.name, "polling");
    });

    test("every node counts 3", { timeout: TEST_TIMEOUT_MS }, async () => {
      for (const socket of all()) assert.equal(await call(socket, "count"), 3);
    });

    for (const origin of ["rust0", "node"]) {
      describe(`started from ${origin === "node" ? "the Node node" : "a Rust node"}`, () => {
        const tag = `${origin}-${adapter}`;
        /** The client that asks, and everyone else (on the two other nodes). */
        const asker = () => c[origin];
        const others = () => all().filter((s) => s !== asker());

        test("emit to a room reaches its members on the other nodes, not the asker", { timeout: TEST_TIMEOUT_MS }, async () => {
          const room = `room-${tag}`;
          for (const s of others()) assert.equal(await call(s, "join", room), true);
          const got = others().map((s) => next(s, "news"));
          const silent = heardWithin(asker(), "news");
          assert.equal(await call(asker(), "emit", { to: [room], except: [], event: "news", args: ["hi", 1, { deep: [null, true] }] }), true);
          assert.deepEqual(await Promise.all(got), others().map(() => ["hi", 1, { deep: [null, true] }]));
          assert.deepEqual(await silent, []);
        });

        test("emit to everyone except a room", { timeout: TEST_TIMEOUT_MS }, async () => {
          const room = `except-${tag}`;
          const [left, ...rest] = others();
          assert.equal(await call(left, "join", room), true);
          const got = [asker(), ...rest].map((s) => next(s, "all"));
          const silent = heardWithin(left, "all");
          assert.equal(await call(asker(), "emit", { to: [], except: [room], event: "all", args: [{ n: 2 }] }), true);
          assert.deepEqual(await Promise.all(got), [asker(), ...rest].map(() => [{ n: 2 }]));
          assert.deepEqual(await silent, []);
          assert.equal(await call(left, "leave", room), true);
        });

        test("a volatile emit reaches a connected client of another node", { timeout: TEST_TIMEOUT_MS }, async () => {
          for (const target of others()) {
            const got = next(target, "flash");
            await call(asker(), "emit", { to: [target.id], event: "flash", args: ["now"], volatile: true });
            assert.deepEqual(await got, ["now"]);
          }
        });

        test("binary arguments cross nodes intact", { timeout: TEST_TIMEOUT_MS }, async () => {
          const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
          const room = `room-${tag}`;
          const got = others().map((s) => next(s, "blob"));
          await call(asker(), "emit", { to: [room], event: "blob", args: [bytes, { inner: Buffer.from("é"), n: 3 }] });
          for (const [blob, { inner, n }] of await Promise.all(got)) {
            assert.deepEqual(Buffer.from(blob), bytes);
            assert.deepEqual(Buffer.from(inner), Buffer.from("é"));
            assert.equal(n, 3);
          }
        });

        test("emitAck collects the ack of every client of every node", { timeout: TEST_TIMEOUT_MS }, async () => {
          const event = `question-${tag}`;
          for (const s of all()) s.on(event, (n, cb) => cb({ from: s.id, n }));
          const answers = await call(asker(), "emitAck", { to: [], event, args: [7], timeout: 3000 });
          assert.deepEqual(answers, all().map((s) => ({ from: s.id, n: 7 })).sort(byJson));
          const inRoom = await call(asker(), "emitAck", { to: [`room-${tag}`], event, args: [8], timeout: 3000 });
          assert.deepEqual(inRoom, others().map((s) => ({ from: s.id, n: 8 })).sort(byJson));
        });

        test("emitAck reports the timeout when one client never acks", { timeout: TEST_TIMEOUT_MS }, async () => {
          const event = `silence-${tag}`;
          const [quiet, ...rest] = others();
          quiet.on(event, () => {});
          for (const s of [asker(), ...rest]) s.on(event, (cb) => cb("ok"));
          assert.deepEqual(await call(asker(), "emitAck", { to: [], event, args: [], timeout: 800 }), {
            error: "operation has timed out",
          });
          assert.deepEqual(await call(asker(), "emitAck", { to: [quiet.id], event, args: [], timeout: 500 }), {
            error: "operation has timed out",
          });
        });

        test("fetch lists the sockets of every node, sorted", { timeout: TEST_TIMEOUT_MS }, async () => {
          assert.deepEqual(await call(asker(), "fetch", { in: [`room-${tag}`] }), others().map((s) => s.id).sort());
          assert.deepEqual(await call(asker(), "fetch", { in: [] }), all().map((s) => s.id).sort());
          assert.deepEqual(await call(asker(), "fetch", { in: ["nobody-here"] }), []);
          // A socket's own room, on another node.
          assert.deepEqual(await call(asker(), "fetch", { in: [c.polling.id] }), [c.polling.id]);
        });

        test("sse gets one pong from each other node", { timeout: TEST_TIMEOUT_MS }, async () => {
          const asking = origin === "node" ? nodes[2] : nodes[0];
          const expected = nodes.filter((n) => n !== asking).map((n) => `pong:${n.port}:${tag}`).sort();
          assert.deepEqual(await call(asker(), "sse", tag), expected);
        });

        test("socketsJoin and socketsLeave move sockets of other nodes", { timeout: TEST_TIMEOUT_MS }, async () => {
          const room = `joined-${tag}`;
          const moved = others().map((s) => s.id).sort();
          assert.equal(await call(asker(), "socketsJoin", { in: moved, room }), true);
          await eventually(
            async () => JSON.stringify(await call(asker(), "fetch", { in: [room] })) === JSON.stringify(moved),
            `the others joined ${room}`,
          );
          // The Node node sees them too.
          assert.deepEqual(await call(c.node, "fetch", { in: [room] }), moved);
          assert.equal(await call(asker(), "socketsLeave", { in: [room], room }), true);
          await eventually(async () => (await call(c.rust1, "fetch", { in: [room] })).length === 0, `${room} is empty`);
        });

        test("remoteEmit reaches one socket of another node", { timeout: TEST_TIMEOUT_MS }, async () => {
          for (const target of others()) {
            const got = next(target, "direct");
            assert.equal(await call(asker(), "remoteEmit", { id: target.id, event: "direct", args: ["x", 2] }), 1);
            assert.deepEqual(await got, ["x", 2]);
          }
          assert.equal(await call(asker(), "remoteEmit", { id: "no-such-socket-id-00", event: "direct", args: [] }), 0);
        });

        test("disconnectSockets closes the sockets of a room on every other node", { timeout: TEST_TIMEOUT_MS }, async () => {
          const room = `doomed-${tag}`;
          const victims = [
            await connect(nodes[0]),
            await connect(nodes[1]),
            await connect(nodes[2]),
            await connect(nodes[2], { transports: ["polling"] }),
          ];
          extra.push(...victims);
          for (const v of victims) assert.equal(await call(v, "join", room), true);
          const reasons = victims.map((v) => next(v, "disconnect"));
          assert.equal(await call(asker(), "disconnectSockets", { in: [room] }), true);
          assert.deepEqual(await Promise.all(reasons), victims.map(() => ["io server disconnect", undefined]));
          for (const s of all()) assert.equal(s.connected, true);
          assert.deepEqual(await call(asker(), "fetch", { in: [room] }), []);
        });

        test(
          "disconnectSockets closes a polling client of a Rust node as Node closes it",
          // The DISCONNECT packet and the close packet must come in separate polls, as
          // Node's engine sends them: in one payload the client handles the close first
          // and reports "transport close".
          { timeout: TEST_TIMEOUT_MS },
          async () => {
            const room = `doomed-polling-${tag}`;
            const victim = await connect(nodes[1], { transports: ["polling"] });
            extra.push(victim);
            assert.equal(await call(victim, "join", room), true);
            const reason = next(victim, "disconnect");
            assert.equal(await call(asker(), "disconnectSockets", { in: [room] }), true);
            assert.deepEqual(await reason, ["io server disconnect", undefined]);
          },
        );
      });
    }

    test("a killed Rust node leaves the count, and comes back restarted", { timeout: 60_000 }, async () => {
      const gone = [next(c.rust1, "disconnect"), next(c.polling, "disconnect")];
      await nodes[1].kill();
      await Promise.all(gone);
      await waitForCount([nodes[0], nodes[2]], 2);
      assert.deepEqual(await call(c.node, "sse", "k"), [`pong:${nodes[0].port}:k`]);
      assert.deepEqual(await call(c.rust0, "sse", "k"), [`pong:${nodes[2].port}:k`]);
      assert.deepEqual(await call(c.rust0, "fetch", { in: [] }), [c.rust0.id, c.node.id].sort());
      assert.deepEqual(await call(c.node, "fetch", { in: [] }), [c.rust0.id, c.node.id].sort());
      nodes[1] = await nodes[1].restart();
      await waitForCount(nodes, 3);
      c.rust1 = await connect(nodes[1]);
      c.polling = await connect(nodes[1], { transports: ["polling"] });
      assert.deepEqual(await call(c.rust1, "whoami"), { node: String(nodes[1].port), id: c.rust1.id, recovered: false });
      assert.deepEqual(await call(c.node, "fetch", { in: [] }), all().map((s) => s.id).sort());
      const got = next(c.polling, "back");
      await call(c.node, "emit", { to: [c.polling.id], event: "back", args: [1] });
      assert.deepEqual(await got, [1]);
    });

    test("a killed Node node leaves the count, and comes back restarted", { timeout: 60_000 }, async () => {
      const gone = next(c.node, "disconnect");
      await nodes[2].kill();
      await gone;
      await waitForCount(nodes.slice(0, 2), 2);
      assert.deepEqual(await call(c.rust0, "sse", "n"), [`pong:${nodes[1].port}:n`]);
      nodes[2] = await nodes[2].restart();
      await waitForCount(nodes, 3);
      c.node = await connect(nodes[2]);
      const got = next(c.node, "back");
      await call(c.rust1, "emit", { to: [c.node.id], event: "back", args: [2] });
      assert.deepEqual(await got, [2]);
      assert.deepEqual(await call(c.rust0, "sse", "m"), [`pong:${nodes[1].port}:m`, `pong:${nodes[2].port}:m`].sort());
    });
  });
}
