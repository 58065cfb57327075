// The Node twin of the cluster node contract (crates/actix-socketio-redis/examples/
// cluster_node.rs is the Rust one): socket.io 4.8 with Node's Redis adapters, the peer of
// the mixed-cluster tests.
//
//   PORT=3001 [REDIS_URL=redis://127.0.0.1:6379] [KEY=socket.io]
//   [ADAPTER=classic|sharded|streams|memory] [RECOVERY_MS=ms] node tests/js/cluster/node.mjs
//
// - classic: @socket.io/redis-adapter createAdapter(pub, sub, {key: KEY})
// - sharded: createShardedAdapter(pub, sub, {channelPrefix: KEY})
// - streams: @socket.io/redis-streams-adapter createAdapter(client, {streamName:
//   KEY + "-stream", channelPrefix: KEY, sessionKeyPrefix: KEY + "-session:"})
// - memory: socket.io's own in-memory adapter (no cluster)
// RECOVERY_MS turns on connectionStateRecovery {maxDisconnectionDuration: RECOVERY_MS,
// skipMiddlewares: true}.
//
// Namespace "/" answers these events, each with an ack as its last argument: whoami,
// join, leave, emit, emitAck, fetch, count, sse, socketsJoin, socketsLeave,
// disconnectSockets, remoteEmit. Every node answers the server-side event "ping" with
// "pong:PORT:data". It prints `listening on http://127.0.0.1:PORT` once it serves, and
// closes on SIGTERM.
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createClient } from "redis";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";

const PORT = Number(process.env.PORT);
const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const KEY = process.env.KEY || "socket.io";
const ADAPTER = process.env.ADAPTER || "classic";
const RECOVERY_MS = process.env.RECOVERY_MS;
/** How long `sse` waits for every other node (the contract's 2 s). */
const SSE_TIMEOUT_MS = 2000;

if (!Number.isInteger(PORT) || PORT <= 0) {
  console.error("PORT must be a port number");
  process.exit(2);
}

const clients = [];
async function redis() {
  const client = createClient({ url: REDIS_URL });
  // node-redis reconnects by itself; an unhandled "error" would end the process.
  client.on("error", (err) => console.error(`redis: ${err.message}`));
  await client.connect();
  clients.push(client);
  return client;
}

async function adapter() {
  switch (ADAPTER) {
    case "classic":
      return createAdapter(await redis(), await redis(), { key: KEY });
    case "sharded":
      return createShardedAdapter(await redis(), await redis(), { channelPrefix: KEY });
    case "streams":
      return createStreamsAdapter(await redis(), {
        streamName: `${KEY}-stream`,
        channelPrefix: KEY,
        sessionKeyPrefix: `${KEY}-session:`,
      });
    case "memory":
      return undefined;
    default:
      throw new Error(`ADAPTER must be classic, sharded, streams or memory, not ${ADAPTER}`);
  }
}

const byJson = (a, b) => {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

const http = createServer();
const io = new Server(http, {
  adapter: await adapter(),
  ...(RECOVERY_MS !== undefined && {
    connectionStateRecovery: { maxDisconnectionDuration: Number(RECOVERY_MS), skipMiddlewares: true },
  }),
});

// An emitter's serverSideEmit has no ack to call.
io.on("ping", (data, cb) => typeof cb === "function" && cb(`pong:${PORT}:${data}`));

io.on("connection", (socket) => {
  const on = (event, handler) =>
    socket.on(event, async (...args) => {
      const ack = args.pop();
      if (typeof ack !== "function") return;
      try {
        ack(await handler(...args));
      } catch (err) {
        ack({ error: err.message });
      }
    });

  on("whoami", () => ({ node: String(PORT), id: socket.id, recovered: socket.recovered }));
  on("join", (room) => {
    socket.join(room);
    return true;
  });
  on("leave", (room) => {
    socket.leave(room);
    return true;
  });
  on("emit", ({ to = [], except = [], event, args = [], volatile = false }) => {
    const operator = io.to(to).except(except);
    (volatile ? operator.volatile : operator).emit(event, ...args);
    return true;
  });
  on("emitAck", async ({ to = [], event, args = [], timeout }) => {
    const responses = await io.to(to).timeout(timeout).emitWithAck(event, ...args);
    return responses.sort(byJson);
  });
  on("fetch", async ({ in: rooms = [] }) =>
    (await io.in(rooms).fetchSockets()).map((s) => s.id).sort(),
  );
  on("count", () => io.of("/").adapter.serverCount());
  on("sse", async (data) => {
    // socket.io 4.8 has no timeout() for serverSideEmitWithAck: the 2 s are raced here.
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("operation has timed out")), SSE_TIMEOUT_MS);
    });
    try {
      const responses = await Promise.race([io.serverSideEmitWithAck("ping", data), timeout]);
      return responses.sort();
    } finally {
      clearTimeout(timer);
    }
  });
  on("socketsJoin", ({ in: rooms = [], room }) => {
    io.in(rooms).socketsJoin(room);
    return true;
  });
  on("socketsLeave", ({ in: rooms = [], room }) => {
    io.in(rooms).socketsLeave(room);
    return true;
  });
  on("disconnectSockets", ({ in: rooms = [] }) => {
    io.in(rooms).disconnectSockets(true);
    return true;
  });
  on("remoteEmit", async ({ id, event, args = [] }) => {
    const [s] = await io.in(id).fetchSockets();
    if (s) s.emit(event, ...args);
    return s ? 1 : 0;
  });
});

process.on("SIGTERM", () => {
  io.close(async () => {
    await Promise.allSettled(clients.map((c) => c.quit()));
    process.exit(0);
  });
});

http.listen(PORT, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${PORT}`));
