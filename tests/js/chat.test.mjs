// The chat room's real-time side through the official Node client: the `/room` list
// namespace and the `/chat` room namespace of the gif-chat app, with sessions made the way a
// browser makes them (GET /, POST /room, GET /room/:id, POST /room/:id/password).
//
//   cargo build -p gif-chat && node --test tests/js/chat.test.mjs
//
// Every wait is bounded. Absence ("C never gets the whisper") is checked behind a barrier
// where possible: a later chat that C does get, sent after the event in question, on the same
// connection, so anything sent to C before it would have arrived first.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { startApp } from "./support/app.mjs";
import { STEP_MS, Visitor, lobbySocket } from "./support/visitor.mjs";

/** How long an emptied room waits before it is deleted (ROOM_DELETE_GRACE_MS). */
const GRACE_MS = 600;
/** Messages per second per session (CHAT_RATE); bursts of twice that. */
const CHAT_RATE = 5;
const BURST = 2 * CHAT_RATE;
/** Margin past the grace period before concluding that a deletion did not happen. */
const QUIET_MS = 300;
const TEST_TIMEOUT_MS = 20_000;

/** A test with its own time limit (a limit on `describe` would bound the whole suite). */
function it(name, fn) {
  return test(name, { timeout: TEST_TIMEOUT_MS }, fn);
}

const TOO_FAST = "메시지를 너무 빨리 보내고 있습니다.";

let app;
let visitors = [];
let lobbies = [];
let rooms = 0;

before(async () => {
  app = await startApp({ ROOM_DELETE_GRACE_MS: String(GRACE_MS), CHAT_RATE: String(CHAT_RATE) });
});

after(async () => {
  const exit = app?.exitInfo();
  await app?.stop();
  assert.equal(exit, null, `gif-chat exited during the tests: ${JSON.stringify(exit)}`);
});

afterEach(() => {
  for (const visitor of visitors) visitor.close();
  for (const lobby of lobbies) lobby.disconnect();
  visitors = [];
  lobbies = [];
});

/** A new person who opened the room list. */
async function person() {
  const visitor = await Visitor.arrive(app.url);
  visitors.push(visitor);
  return visitor;
}

/** A connected room-list socket. */
async function lobby() {
  const socket = lobbySocket(app.url);
  lobbies.push(socket);
  await socket.connected();
  return socket;
}

/** A unique room title. */
function title(label) {
  rooms += 1;
  return `${label} ${rooms}`;
}

/** `owner` creates a room and joins it at once (before the grace period runs out). */
async function openRoom(owner, { max = "", password = "", label = "방" } = {}) {
  const id = await owner.createRoom({ title: title(label), max, password });
  const page = await owner.enter(id);
  assert.equal(page.chatPage, true, `the creator does not get the chat page of room ${id}`);
  owner.tab = await owner.join(id);
  return id;
}

/** `visitor` opens a public room's page (which lets them in) and joins it. */
async function comeIn(visitor, id) {
  const page = await visitor.enter(id);
  assert.equal(page.chatPage, true, `GET /room/${id}: ${page.status} ${page.location}`);
  visitor.tab = await visitor.join(id);
  return visitor.tab;
}

/** How `visitor` appears in `participants`. */
function entry(visitor, owner = false) {
  return { id: visitor.id, name: visitor.name, tone: visitor.tone, owner };
}

/** `sender` chats `text` (checking the ack); resolves once every tab in `tabs` got it. */
async function barrier(sender, tabs, text = `확인 ${Math.random()}`) {
  assert.deepEqual(await sender.ask("chat", { text }), { ok: true });
  await Promise.all(tabs.map((tab) => tab.waitForChat(text)));
}

/** The `roomCount`s of room `id` the list socket got, in order. */
function counts(list, id) {
  return list.all("roomCount", (c) => c.id === id).map((c) => c.count);
}

/** Waits until the `roomCount`s of room `id` are exactly `expected`. */
function countsReach(list, id, expected) {
  const want = JSON.stringify(expected);
  return list.waitFor("roomCount", (c) => c.id === id && JSON.stringify(counts(list, id)) === want);
}

/** A socket's Engine.IO state, for failure messages. */
function describeEngine(tab) {
  const engine = tab.socket.io.engine;
  return JSON.stringify({ transport: engine?.transport?.name, upgrading: engine?.upgrading, state: engine?.readyState });
}

/** Whether GET / lists room `id`. */
async function listed(visitor, id) {
  const { html } = await visitor.get("/");
  return html.includes(`data-room-id="${id}"`);
}

describe("/room: the live room list", () => {
  it("newRoom announces a room without any password, and a room nobody enters goes", async () => {
    const list = await lobby();
    const a = await person();

    const publicTitle = title("공개방");
    const open = await a.createRoom({ title: publicTitle, max: "7" });
    const created = Date.now();
    assert.deepEqual(await list.waitFor("newRoom", (room) => room.id === open), {
      id: open,
      title: publicTitle,
      max: 7,
      owner: { name: a.name, tone: a.tone },
      secret: false,
      count: 0,
    });

    const secretTitle = title("비밀방");
    const secret = await a.createRoom({ title: secretTitle, password: "열려라 참깨" });
    // Exactly these fields: no password, no hash, no owner id.
    assert.deepEqual(await list.waitFor("newRoom", (room) => room.id === secret), {
      id: secret,
      title: secretTitle,
      max: 10,
      owner: { name: a.name, tone: a.tone },
      secret: true,
      count: 0,
    });

    // Nobody came in: the first room goes after the grace period, not before.
    await list.waitFor("removeRoom", (id) => id === open, GRACE_MS + STEP_MS);
    const waited = Date.now() - created;
    assert.ok(waited >= GRACE_MS * 0.8, `removed after ${waited} ms, grace is ${GRACE_MS} ms`);
    await list.waitFor("removeRoom", (id) => id === secret, GRACE_MS + STEP_MS);

    const gone = await a.enter(open);
    assert.equal(gone.status, 303);
    assert.equal(gone.location, "/");
    assert.equal((await a.home()).flash, "존재하지 않는 방입니다.");
  });

  it("roomCount counts people, not tabs, as they come and go", async () => {
    const list = await lobby();
    const [a, b] = [await person(), await person()];
    const id = await openRoom(a);
    await countsReach(list, id, [1]);
    // A second tab changes nothing for the list.
    const secondTab = await a.join(id);
    await comeIn(b, id);
    await countsReach(list, id, [1, 2]);
    b.tab.disconnect();
    await countsReach(list, id, [1, 2, 1]);
    // One of a's two tabs closes: a is still there; with the other, a is gone.
    a.tab.disconnect();
    await sleep(QUIET_MS);
    assert.deepEqual(counts(list, id), [1, 2, 1]);
    secondTab.disconnect();
    await countsReach(list, id, [1, 2, 1, 0]);
  });

  it("removeRoom comes a grace period after everyone left, and a quick return keeps the room", async () => {
    const list = await lobby();
    const a = await person();
    const id = await openRoom(a);

    // A refresh: the socket goes and comes back within the grace period.
    await countsReach(list, id, [1]);
    a.tab.disconnect();
    await countsReach(list, id, [1, 0]);
    const back = await a.join(id);
    await countsReach(list, id, [1, 0, 1]);
    await sleep(GRACE_MS + QUIET_MS);
    assert.deepEqual(list.all("removeRoom", (x) => x === id), []);
    assert.equal(await listed(a, id), true);
    assert.equal(back.socket.connected, true);

    back.disconnect();
    const left = Date.now();
    await list.waitFor("removeRoom", (x) => x === id, GRACE_MS + STEP_MS);
    const waited = Date.now() - left;
    assert.ok(waited >= GRACE_MS * 0.8, `removed ${waited} ms after the last one left`);
    await app.waitForLog(new RegExp(`방 ${id}을\\(를\\) 삭제했습니다\\.`));
    assert.equal(await listed(a, id), false);
    assert.equal(await a.refusal(id), "존재하지 않는 방입니다.");
  });
});

describe("/chat: inside a room", () => {
  it("sockets without a session, or for no room, are refused", async () => {
    const a = await person();
    const id = await openRoom(a);

    const stranger = new Visitor(app.url);
    visitors.push(stranger);
    assert.equal(await stranger.refusal(id), "세션이 없습니다.");
    assert.equal(await stranger.refusal(id, { cookie: "gif-chat.sid=forged" }), "세션이 없습니다.");
    assert.equal(await a.refusal(id + 1000), "존재하지 않는 방입니다.");
    assert.equal(await a.refusal("x"), "존재하지 않는 방입니다.");
    // A public room's page must have been opened first: that is what lets a session in.
    const b = await person();
    assert.equal(await b.refusal(id), "입장 권한이 없습니다.");
  });

  it("with the default transports (polling, then websocket) every tab connects and upgrades", async () => {
    // What a browser does. Each newcomer must connect, finish the upgrade and get a chat
    // acked promptly; an upgrade that stalls holds everything sent meanwhile.
    const a = await person();
    const id = await openRoom(a, { max: "100" });
    const PEOPLE = 30;
    for (let i = 1; i <= PEOPLE; i++) {
      const visitor = await person();
      assert.equal((await visitor.enter(id)).chatPage, true);
      const tab = visitor.chatSocket(id, { transports: ["polling", "websocket"] });
      const which = `newcomer ${i} of ${PEOPLE}`;
      await tab.connected().catch((err) => {
        throw new Error(`${which} did not connect: ${describeEngine(tab)}`, { cause: err });
      });
      const engine = tab.socket.io.engine;
      if (engine.transport.name !== "websocket") {
        await new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`${which} did not upgrade within ${STEP_MS} ms: ${describeEngine(tab)}`)),
            STEP_MS,
          );
          engine.once("upgrade", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      assert.deepEqual(await tab.ask("chat", { text: `${which}입니다` }), { ok: true });
      visitor.close();
    }
  });

  it("a newcomer is announced to the others, a leaver to those left, and the list follows", async () => {
    const [a, b] = [await person(), await person()];
    const id = await openRoom(a);
    await a.tab.waitForParticipants([entry(a, true)]);

    await comeIn(b, id);
    const joined = `${b.name}님이 입장하셨습니다.`;
    const notice = await a.tab.waitForChat(joined);
    assert.equal(notice.kind, "system");
    assert.equal(notice.user, b.id);
    assert.equal(notice.name, b.name);
    assert.equal(notice.tone, b.tone);
    assert.equal(notice.room_id, id);
    const both = [entry(a, true), entry(b)];
    await a.tab.waitForParticipants(both);
    await b.tab.waitForParticipants(both);
    // The newcomer is not told about themselves (their page shows the history).
    await barrier(a.tab, [b.tab]);
    assert.deepEqual(b.tab.all("chat", (c) => c.body === joined), []);

    b.tab.disconnect();
    const leftNotice = await a.tab.waitForChat(`${b.name}님이 퇴장하셨습니다.`);
    assert.equal(leftNotice.kind, "system");
    assert.equal(leftNotice.user, b.id);
    await a.tab.waitForParticipants([entry(a, true)]);
    // Both notices are kept in the room's history.
    const c = await person();
    const { html } = await c.enter(id);
    assert.ok(html.includes(joined), "the join notice is not in the history");
    assert.ok(html.includes(`${b.name}님이 퇴장하셨습니다.`), "the leave notice is not in the history");
  });

  it("capacity counts people, not tabs: a full room refuses a third person", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const id = await openRoom(a, { max: "2" });
    // c is let in while there is room, then the room fills up.
    assert.equal((await c.enter(id)).chatPage, true);
    const aSecond = await a.join(id);
    await comeIn(b, id);
    await a.tab.waitForParticipants([entry(a, true), entry(b)]);
    await aSecond.waitForParticipants([entry(a, true), entry(b)]);

    assert.equal(await c.refusal(id), "허용 인원이 초과하였습니다.");
    const page = await c.enter(id);
    assert.equal(page.status, 303);
    assert.equal(page.location, "/");
    assert.equal((await c.home()).flash, "허용 인원이 초과하였습니다.");
    // Someone already inside may still open another tab.
    const bSecond = await b.join(id);
    await bSecond.waitForParticipants([entry(a, true), entry(b)]);

    // Once b has closed both tabs there is room for c.
    b.tab.disconnect();
    bSecond.disconnect();
    await a.tab.waitForParticipants([entry(a, true)]);
    await c.join(id);
    await a.tab.waitForChat(`${c.name}님이 입장하셨습니다.`);
  });

  it("a chat reaches every tab once, with an ack; bad chats are refused in the ack", async () => {
    const [a, b] = [await person(), await person()];
    const id = await openRoom(a);
    // a's second tab uses HTTP long-polling (with the same cookie).
    const aPolling = await a.join(id, { transports: ["polling"] });
    await comeIn(b, id);
    const tabs = [a.tab, aPolling, b.tab];

    assert.deepEqual(await a.tab.ask("chat", { text: "  안녕하세요, 여러분  " }), { ok: true });
    const got = await Promise.all(tabs.map((tab) => tab.waitForChat("안녕하세요, 여러분")));
    for (const chat of got) {
      assert.equal(chat.kind, "text");
      assert.equal(chat.user, a.id);
      assert.equal(chat.name, a.name);
      assert.equal(chat.tone, a.tone);
      assert.equal(chat.room_id, id);
      assert.equal(chat.target, null);
      assert.equal(typeof chat.created_at, "number");
      assert.equal(chat.id, got[0].id);
    }

    assert.deepEqual(await a.tab.ask("chat", { text: " \n " }), { ok: false, error: "메시지를 입력하세요." });
    assert.deepEqual(await a.tab.ask("chat", { text: "가".repeat(1001) }), {
      ok: false,
      error: "메시지는 1000자 이하여야 합니다.",
    });
    assert.deepEqual(await a.tab.ask("chat", "문자열"), { ok: false, error: "잘못된 요청입니다." });
    assert.deepEqual(await b.tab.ask("chat", { text: "가".repeat(1000) }), { ok: true });

    // Behind b's reply: nobody got anything twice, and nothing refused was sent.
    await barrier(b.tab, tabs, "잘 들려요");
    for (const tab of tabs) {
      const texts = tab.all("chat", (c) => c.kind === "text").map((c) => c.body);
      assert.deepEqual(texts, ["안녕하세요, 여러분", "가".repeat(1000), "잘 들려요"]);
    }
  });

  it("flooding is slowed down with a message, and the server keeps serving", async () => {
    const [a, b] = [await person(), await person()];
    const id = await openRoom(a);
    await comeIn(b, id);

    const sent = 3 * BURST;
    const replies = await Promise.all(
      Array.from({ length: sent }, (_, i) => b.tab.ask("chat", { text: `도배 ${i}` })),
    );
    const accepted = replies.filter((reply) => reply.ok);
    const refused = replies.filter((reply) => !reply.ok);
    assert.ok(accepted.length >= BURST, `only ${accepted.length} of a burst of ${BURST} accepted`);
    assert.ok(refused.length > 0, `all ${sent} messages were accepted`);
    for (const reply of refused) assert.deepEqual(reply, { ok: false, error: TOO_FAST });

    // The budget is per person: a is not slowed down, and sees exactly what was accepted.
    await barrier(a.tab, [a.tab, b.tab], "천천히 하세요");
    assert.equal(a.tab.all("chat", (c) => c.body.startsWith("도배 ")).length, accepted.length);
    assert.equal(b.tab.all("chat", (c) => c.body.startsWith("도배 ")).length, accepted.length);

    // After a pause (one message's worth at the rate) b may talk again.
    await sleep(1000 / CHAT_RATE + 50);
    assert.deepEqual(await b.tab.ask("chat", { text: "미안해요" }), { ok: true });
    await a.tab.waitForChat("미안해요");
    assert.equal(b.tab.socket.connected, true);
    assert.equal((await a.get("/")).status, 200);
    assert.equal(app.exitInfo(), null);
  });

  it("when the owner leaves, the longest-present person becomes the owner", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const id = await openRoom(a);
    await comeIn(b, id);
    await comeIn(c, id);
    await c.tab.waitForParticipants([entry(a, true), entry(b), entry(c)]);

    a.tab.disconnect();
    for (const tab of [b.tab, c.tab]) {
      assert.deepEqual(await tab.waitFor("owner"), { id: b.id, name: b.name, tone: b.tone });
      await tab.waitForChat(`${a.name}님이 퇴장하셨습니다.`);
      const notice = await tab.waitForChat(`${b.name}님이 방장이 되었습니다.`);
      assert.equal(notice.kind, "system");
      assert.equal(notice.user, b.id);
      await tab.waitForParticipants([entry(b, true), entry(c)]);
    }
    assert.deepEqual(c.tab.all("owner"), [{ id: b.id, name: b.name, tone: b.tone }]);
    // The leave notice comes first.
    const bodies = c.tab.all("chat").map((chat) => chat.body);
    assert.ok(
      bodies.indexOf(`${a.name}님이 퇴장하셨습니다.`) < bodies.indexOf(`${b.name}님이 방장이 되었습니다.`),
      bodies.join(" | "),
    );

    // The room page knows the new owner, and a coming back does not take the room back.
    assert.ok((await b.enter(id)).html.includes(`data-owner="${b.id}"`));
    const aBack = await a.join(id);
    await aBack.waitForParticipants([entry(b, true), entry(c), entry(a)]);
    assert.deepEqual(await aBack.ask("kick", { id: c.id }), { ok: false, error: "방장만 강퇴할 수 있습니다." });
  });

  it("only the owner kicks; the kicked person's tabs are sent away and stay out", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const id = await openRoom(a);
    await comeIn(b, id);
    const bSecond = await b.join(id);
    await comeIn(c, id);
    await a.tab.waitForParticipants([entry(a, true), entry(b), entry(c)]);

    assert.deepEqual(await c.tab.ask("kick", { id: b.id }), { ok: false, error: "방장만 강퇴할 수 있습니다." });
    assert.deepEqual(await a.tab.ask("kick", { id: a.id }), { ok: false, error: "자기 자신은 강퇴할 수 없습니다." });
    assert.deepEqual(await a.tab.ask("kick", { id: "0123456789abcdef" }), {
      ok: false,
      error: "강퇴할 사람이 방에 없습니다.",
    });
    assert.equal(b.tab.socket.connected, true);

    assert.deepEqual(await a.tab.ask("kick", { id: b.id }), { ok: true });
    for (const tab of [b.tab, bSecond]) {
      assert.deepEqual(await tab.waitFor("kicked"), { message: "방장에게 강퇴당했습니다." });
      assert.equal(await tab.waitFor("disconnect"), "io server disconnect");
    }
    for (const tab of [a.tab, c.tab]) {
      // Announced as a kick, not as an ordinary departure.
      const kicked = await tab.waitForChat(`${b.name}님이 방장에게 강퇴당했습니다.`);
      assert.equal(kicked.kind, "system");
      assert.equal(kicked.user, b.id);
      await tab.waitForParticipants([entry(a, true), entry(c)]);
    }
    assert.deepEqual(c.tab.all("kicked"), []);
    await barrier(a.tab, [a.tab, c.tab]);
    for (const tab of [a.tab, c.tab]) {
      assert.deepEqual(tab.all("chat", (chat) => chat.body === `${b.name}님이 퇴장하셨습니다.`), []);
    }

    assert.equal(await b.refusal(id), "강퇴당한 방에는 다시 들어갈 수 없습니다.");
    const page = await b.enter(id);
    assert.equal(page.status, 303);
    assert.equal(page.location, "/");
    assert.equal((await b.home()).flash, "강퇴당한 방에는 다시 들어갈 수 없습니다.");
    assert.equal((await b.home()).flash, null, "the message shows once");
  });

  it("a tab that comes back is sent what it missed, and only the whispers it may see", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const id = await openRoom(a);
    await comeIn(b, id);
    await comeIn(c, id);
    await a.tab.waitForChat(`${c.name}님이 입장하셨습니다.`);

    assert.deepEqual(await a.tab.ask("chat", { text: "하나" }), { ok: true });
    const first = await b.tab.waitForChat("하나");
    assert.deepEqual(await a.tab.ask("chat", { text: "둘" }), { ok: true });
    assert.deepEqual(await a.tab.ask("whisper", { to: b.id, text: "비밀" }), { ok: true });
    assert.deepEqual(await a.tab.ask("chat", { text: "셋" }), { ok: true });
    await b.tab.waitForChat("셋");

    // Second tabs that show the history up to "하나" (another tab of someone present
    // brings no notice, so all they get is the catch-up and what comes live). A chat sent
    // while a tab catches up may come both ways: the page keeps one per id.
    const bBack = await b.join(id, { after: first.id });
    const cBack = await c.join(id, { after: first.id });
    await bBack.waitForChat("비밀", "whisper");
    await barrier(a.tab, [bBack, cBack], "넷");
    const bodies = (tab, event) => {
      const byId = new Map(tab.all(event).map((chat) => [chat.id, chat.body]));
      return [...byId].sort(([x], [y]) => x - y).map(([, body]) => body);
    };
    assert.deepEqual(bodies(bBack, "chat"), ["둘", "셋", "넷"]);
    assert.deepEqual(bodies(bBack, "whisper"), ["비밀"]);
    assert.deepEqual(bodies(cBack, "chat"), ["둘", "셋", "넷"]);
    assert.deepEqual(bodies(cBack, "whisper"), []);

    // A tab that is up to date is sent nothing old.
    const latest = bBack.all("chat").find((chat) => chat.body === "넷");
    const current = await b.join(id, { after: latest.id });
    await barrier(a.tab, [current], "다섯");
    assert.deepEqual(bodies(current, "chat"), ["다섯"]);
    assert.deepEqual(bodies(current, "whisper"), []);
  });

  it("a whisper reaches its sender and its target, nobody else", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const id = await openRoom(a);
    await comeIn(b, id);
    await comeIn(c, id);
    await a.tab.waitForParticipants([entry(a, true), entry(b), entry(c)]);

    const secret = "너만 알고 있어";
    assert.deepEqual(await a.tab.ask("whisper", { to: b.id, text: secret }), { ok: true });
    for (const tab of [a.tab, b.tab]) {
      const whisper = await tab.waitForChat(secret, "whisper");
      assert.equal(whisper.kind, "whisper");
      assert.equal(whisper.user, a.id);
      assert.equal(whisper.name, a.name);
      assert.equal(whisper.tone, a.tone);
      assert.equal(whisper.target, b.id);
      assert.equal(whisper.target_name, b.name);
      assert.equal(whisper.target_tone, b.tone);
      assert.equal(whisper.room_id, id);
    }
    // Behind a later public chat from a: c got neither a whisper nor a chat with it.
    await barrier(a.tab, [a.tab, b.tab, c.tab], "다들 안녕");
    assert.deepEqual(c.tab.all("whisper"), []);
    assert.deepEqual(c.tab.all("chat", (chat) => chat.body === secret), []);
    assert.equal(b.tab.all("whisper").length, 1);
    assert.equal(a.tab.all("whisper").length, 1);
    // Nor in the history a page shows.
    assert.equal((await c.enter(id)).html.includes(secret), false);
    assert.equal((await b.enter(id)).html.includes(secret), true);

    assert.deepEqual(await a.tab.ask("whisper", { to: a.id, text: "나에게" }), {
      ok: false,
      error: "자기 자신에게는 귓속말을 보낼 수 없습니다.",
    });
    assert.deepEqual(await a.tab.ask("whisper", { to: "0123456789abcdef", text: "누구?" }), {
      ok: false,
      error: "귓속말 상대가 방에 없습니다.",
    });
  });

  it("a secret room lets in only the sessions that gave its password", async () => {
    const [a, b] = [await person(), await person()];
    const password = "열려라 참깨";
    const id = await openRoom(a, { password, label: "비밀방" });

    const form = await b.enter(id);
    assert.equal(form.status, 200);
    assert.equal(form.chatPage, false);
    assert.ok(form.html.includes(`<form class="card form" method="post" action="/room/${id}/password">`));
    assert.ok(form.html.includes('type="password"'));
    assert.equal(await b.refusal(id), "입장 권한이 없습니다.");

    // A wrong one goes back to the password form, which says why.
    const wrong = await b.unlock(id, "틀린 비밀번호");
    assert.equal(wrong.status, 303);
    assert.equal(wrong.location, `/room/${id}`);
    const again = await b.enter(id);
    assert.equal(again.chatPage, false);
    assert.ok(
      again.html.includes('<p class="flash" role="alert" id="password-error">비밀번호가 틀렸습니다.</p>'),
      again.html,
    );
    assert.equal((await b.home()).flash, null);
    assert.equal(await b.refusal(id), "입장 권한이 없습니다.");

    const right = await b.unlock(id, password);
    assert.equal(right.status, 303);
    assert.equal(right.location, `/room/${id}`);
    assert.equal((await b.enter(id)).chatPage, true);
    b.tab = await b.join(id);
    await a.tab.waitForChat(`${b.name}님이 입장하셨습니다.`);
    await b.tab.waitForParticipants([entry(a, true), entry(b)]);
  });
});
