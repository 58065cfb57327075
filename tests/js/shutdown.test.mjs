// No acknowledged chat is ever lost: the real gif-chat binary on a SQLite file, several
// official clients chatting in one room, then SIGTERM (graceful) or SIGKILL in the middle of
// the load, a restart on the same database, and every chat acked `{ok: true}` must be in the
// room's history.
//
//   cargo build -p gif-chat && node --test tests/js/shutdown.test.mjs

import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { makeDataDir, startApp } from "./support/app.mjs";
import { STEP_MS, Visitor } from "./support/visitor.mjs";

/** SHUTDOWN_TIMEOUT_MS of the app under test. */
const SHUTDOWN_TIMEOUT_MS = 5_000;
/** Slack for process exit and scheduling on a loaded machine, on top of the limit. */
const EXIT_SLACK_MS = 3_000;
/** Chatters in the room; every other one long-polls instead of using a WebSocket. */
const CHATTERS = 6;
/** Chats each chatter keeps in flight at once. */
const IN_FLIGHT = 4;
/** Acks the load must have collected before the signal, so it lands mid-load. */
const ACKED_BEFORE_SIGNAL = 200;

const ENV = {
  SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  // The rate limit is not under test here; the highest setting keeps it out of the way.
  CHAT_RATE: "1000",
  // The room must survive the restart even though everyone was gone for a moment.
  ROOM_DELETE_GRACE_MS: "600000",
  RUST_LOG: "info",
};

const dirs = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Chats from `tab` until `stop()`; every text is unique. Returns the texts the server acked
 * with `{ok: true}` (some may be acked by a later server, after a reconnection).
 */
function chatter(tab, name) {
  const acked = [];
  const refused = [];
  let running = true;
  let sent = 0;
  const loops = Array.from({ length: IN_FLIGHT }, async () => {
    while (running) {
      if (!tab.socket.connected) {
        await sleep(20);
        continue;
      }
      const text = `${name}-${sent++}`;
      try {
        const reply = await tab.ask("chat", { text });
        if (reply.ok === true) acked.push(text);
        else refused.push(reply);
      } catch {
        // No answer (the connection went away): not acked, so nothing is promised.
      }
    }
  });
  return {
    acked,
    refused,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function totalAcked(chatters, least, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const total = chatters.reduce((sum, c) => sum + c.acked.length, 0);
    if (total >= least) return total;
    if (Date.now() > until) throw new Error(`only ${total} acks within ${ms} ms`);
    await sleep(10);
  }
}

async function run(signal) {
  const dataDir = makeDataDir();
  dirs.push(dataDir);
  let app = await startApp(ENV, { dataDir });
  const owner = await Visitor.arrive(app.url);
  const room = await owner.createRoom({ title: `${signal} 중에도` });

  const tabs = [];
  for (let i = 0; i < CHATTERS; i++) {
    const visitor = await Visitor.arrive(app.url);
    assert.equal((await visitor.enter(room)).chatPage, true);
    const transports = i % 2 === 0 ? ["websocket"] : ["polling"];
    const tab = await visitor.join(room, { transports, reconnection: true });
    const attempts = [];
    tab.socket.io.on("reconnect_attempt", (n) => attempts.push(n));
    tab.attempts = attempts;
    tabs.push(tab);
  }
  const chatters = tabs.map((tab, i) => chatter(tab, `${signal}-${i}`));
  const before = await totalAcked(chatters, ACKED_BEFORE_SIGNAL, 20_000);

  const signalled = Date.now();
  const exitPromise = app.kill(signal);
  // Cancelled once the app exits, so the timer does not hold the test process open.
  const giveUp = new AbortController();
  const exit = await Promise.race([
    exitPromise,
    sleep(SHUTDOWN_TIMEOUT_MS + EXIT_SLACK_MS, null, { signal: giveUp.signal }),
  ]);
  giveUp.abort();
  const exitMs = Date.now() - signalled;
  assert.notEqual(exit, null, `gif-chat did not exit within the shutdown timeout:\n${app.log()}`);

  if (signal === "SIGTERM") {
    assert.deepEqual(exit, { code: 0, signal: null }, app.log());
    assert.match(app.log(), /SIGTERM: shutting down/);
    assert.match(app.log(), /socket\.io connections closed/);
    assert.match(app.log(), /stopped in/);
    // Each client was told by a closed transport (not a DISCONNECT packet), so it retries.
    for (const tab of tabs) {
      assert.equal(await tab.waitFor("disconnect"), "transport close");
      await waitForAttempt(tab);
    }
  } else {
    assert.deepEqual(exit, { code: null, signal: "SIGKILL" });
  }
  for (const c of chatters) await c.stop();
  const acked = chatters.flatMap((c) => c.acked);
  const refused = chatters.flatMap((c) => c.refused);
  assert.deepEqual(refused, [], "no chat is refused under this load");

  app = await startApp(ENV, { dataDir });
  // The same person (same session cookie) at the restarted server, on its new port.
  owner.base = app.url;
  try {
    const history = await owner.enter(room);
    assert.equal(history.chatPage, true, `the room survived the restart: ${history.status}`);
    const missing = acked.filter((text) => !history.html.includes(`>${text}<`));
    console.log(
      `${signal}: exit after ${exitMs} ms (${JSON.stringify(exit)}), ` +
        `${before} acked at the signal, ${acked.length} acked in all, ` +
        `${acked.length - missing.length} of them in the history after the restart`,
    );
    assert.deepEqual(missing, [], "every acked chat is in the history");
  } finally {
    for (const tab of tabs) tab.disconnect();
    await app.stop();
  }
}

/** The manager's first reconnection attempt after the disconnect (bounded). */
async function waitForAttempt(tab) {
  const until = Date.now() + STEP_MS;
  while (tab.attempts.length === 0) {
    if (Date.now() > until) throw new Error("no reconnection attempt after the disconnect");
    await sleep(20);
  }
}

test("SIGTERM mid-load: graceful exit in time, every acked chat kept, clients retry", { timeout: 60_000 }, () =>
  run("SIGTERM"),
);

test("SIGKILL mid-load: every acked chat kept", { timeout: 60_000 }, () => run("SIGKILL"));
