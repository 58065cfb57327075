// The chat room in Chromium: each browser context is one person (its own session cookie),
// using the pages as a visitor would: the room list, the create form, the chat page.
//
//   cargo build -p gif-chat && node --test tests/js/chat.browser.test.mjs
//
// Every wait is bounded. The pages' sockets are watched (support/browser.mjs) only to know
// when they are connected (and upgraded to WebSocket); everything asserted is what the page
// shows.

import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { startApp } from "./support/app.mjs";
import { launchBrowser, pageCondition, socketConnected, watchSockets } from "./support/browser.mjs";

/**
 * ROOM_DELETE_GRACE_MS: long enough for a page to load and join after creating its room,
 * and to tell leaving at once from departing after it.
 */
const GRACE_MS = 3000;
/** Upper bound for anything that should happen "at once". */
const STEP_MS = 5_000;
/** static/chat.js shows why it leaves a room this long before going. */
const LEAVE_DELAY_MS = 2000;
const TEST_TIMEOUT_MS = 30_000;

/** A test with its own time limit (a limit on `describe` would bound the whole suite). */
function it(name, fn) {
  return test(name, { timeout: TEST_TIMEOUT_MS }, fn);
}

/** A 1×1 GIF89a: header, screen descriptor with a 2-colour table, one image, trailer. */
const TINY_GIF = Buffer.from([
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, // GIF89a
  0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1×1, global colour table of 2
  0xff, 0xff, 0xff, 0x00, 0x00, 0x00, // white, black
  0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image descriptor
  0x02, 0x02, 0x44, 0x01, 0x00, // LZW data
  0x3b, // trailer
]);

let app;
let browser;
let people = [];
let rooms = 0;

before(async () => {
  // A room with a long history is filled quickly here: a generous CHAT_RATE.
  app = await startApp({ ROOM_DELETE_GRACE_MS: String(GRACE_MS), CHAT_RATE: "100" });
  browser = await launchBrowser();
});

after(async () => {
  const exit = app?.exitInfo();
  await browser?.close();
  await app?.stop();
  assert.equal(exit, null, `gif-chat exited during the tests: ${JSON.stringify(exit)}`);
});

afterEach(async () => {
  const errors = people.flatMap((p) => p.errors);
  await Promise.all(people.map((p) => p.context.close()));
  people = [];
  assert.deepEqual(errors, [], "uncaught errors on the pages");
});

/** The windows people use: a laptop's and a phone's. */
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** A new person: their own browser context (cookies) and one page, of `viewport`. */
async function person(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  await watchSockets(context);
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  const who = { context, page, errors };
  people.push(who);
  return who;
}

function title(label) {
  rooms += 1;
  return `${label} ${rooms}`;
}

function exactly(text) {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`);
}

/** The room list's entry for room `id`. */
function roomEntry(page, id) {
  return page.locator(`#room-list li.room[data-room-id="${id}"]`);
}

/** A system notice in the chat list. */
function notice(page, text) {
  return page.locator("#chat-list li.chat-item.kind-system").filter({ hasText: exactly(text) });
}

/** Every notice's text, in order. */
function notices(page) {
  return page.locator("#chat-list li.kind-system").allTextContents();
}

/** The chat item (text or whisper) whose text is `text`. */
function message(page, text) {
  return page
    .locator("#chat-list li.chat-item")
    .filter({ has: page.locator(".chat-text", { hasText: exactly(text) }) });
}

/** The participants' ids, in the page's order. */
function participantIds(page) {
  return page.locator("#participants li.person").evaluateAll((items) => items.map((li) => li.dataset.id));
}

/** Polls until `read()` gives `expected`; fails with the last value after `ms`. */
async function until(read, expected, what, ms = STEP_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (JSON.stringify(value) === JSON.stringify(expected)) return;
    if (Date.now() > deadline) assert.deepEqual(value, expected, `${what} after ${ms} ms`);
    await sleep(25);
  }
}

/** The trimmed text of the first element of `locator`. */
async function text(locator) {
  return (await locator.first().textContent())?.trim();
}

/** Which edge of the chat list a chat item's bubble sits against ("left" or "right"). */
function side(item) {
  return item.evaluate((li) => {
    const list = li.getBoundingClientRect();
    const bubble = li.querySelector(".chat-bubble").getBoundingClientRect();
    const left = bubble.left - list.left < 2;
    const right = list.right - bubble.right < 2;
    if (left && !right) return "left";
    if (right && !left) return "right";
    return `neither (bubble ${bubble.left}-${bubble.right} in ${list.left}-${list.right})`;
  });
}

/** Opens the room list and waits for its live connection. */
async function openList(page) {
  await page.goto(`${app.url}/`);
  await socketConnected(page, "/room");
}

/** Fills and sends the create form; resolves with the new room's id once on its page. */
async function createRoom(page, { name, max = "", password = "" }) {
  await page.goto(`${app.url}/room`);
  await page.fill("#title", name);
  await page.fill("#max", max);
  await page.fill("#password", password);
  await page.click('form button[type="submit"]');
  await page.waitForURL(/\/room\/\d+$/);
  return Number(/\/room\/(\d+)$/.exec(page.url())[1]);
}

/** On a chat page: waits until this person is in the room; resolves with who they are. */
async function joined(page) {
  const id = await page.locator("#chat").getAttribute("data-me");
  await socketConnected(page, "/chat");
  const me = page.locator(`#participants li.person[data-id="${id}"]`);
  await me.waitFor();
  return { id, name: await text(me.locator(".person-name")) };
}

/** Opens room `id`'s page and waits until this person is in; resolves with who they are. */
async function enter(page, id) {
  await page.goto(`${app.url}/room/${id}`);
  return joined(page);
}

/**
 * `owner` makes a room with the form and `guests` enter it; resolves with its id and who
 * each is (owner first) once the owner's list shows them all.
 */
async function gather(label, owner, ...guests) {
  const id = await createRoom(owner.page, { name: title(label) });
  const me = [await joined(owner.page)];
  for (const guest of guests) me.push(await enter(guest.page, id));
  await until(() => participantIds(owner.page), me.map((who) => who.id), "the owner's participants");
  return { id, me };
}

/** Sends a chat (or a whisper, with the select set) from the form; waits for its ack. */
async function say(page, words) {
  await page.fill("#chat-text", words);
  await page.press("#chat-text", "Enter");
  // The box is emptied once the server acknowledged the message.
  await pageCondition(page, () => document.getElementById("chat-text").value === "", null, STEP_MS);
}

describe("the chat room in Chromium", () => {
  it("a room made with the form appears live; people chat both ways and share a GIF", async () => {
    const [a, b] = [await person(), await person()];
    await openList(b.page);

    const name = title("움짤방");
    const id = await createRoom(a.page, { name, max: "5" });
    const aMe = await joined(a.page);
    assert.equal(await text(a.page.locator("h1")), name);

    // b's list got it without reloading, with a's name and, soon, a's presence.
    const entry = roomEntry(b.page, id);
    await entry.waitFor();
    assert.equal(await text(entry.locator(".room-title")), name);
    assert.equal(await text(entry.locator(".badge")), "공개방");
    assert.equal(await text(entry.locator(".room-owner")), `방장 ${aMe.name}`);
    await until(() => text(entry.locator(".room-count-now")), "1", "b's head count");

    await entry.locator("a.room-enter").click();
    await b.page.waitForURL(`${app.url}/room/${id}`);
    const bMe = await joined(b.page);
    assert.notEqual(bMe.id, aMe.id);
    await notice(a.page, `${bMe.name}님이 입장하셨습니다.`).waitFor();
    await until(() => participantIds(a.page), [aMe.id, bMe.id], "a's participants");
    await until(() => participantIds(b.page), [aMe.id, bMe.id], "b's participants");

    // Each sees their own messages on the right and the other's on the left, once.
    await say(a.page, "안녕하세요, 반가워요");
    await say(b.page, "저도 반가워요");
    for (const [page, mine, theirs] of [
      [a.page, "안녕하세요, 반가워요", "저도 반가워요"],
      [b.page, "저도 반가워요", "안녕하세요, 반가워요"],
    ]) {
      const own = message(page, mine);
      const other = message(page, theirs);
      await own.waitFor();
      await other.waitFor();
      assert.equal(await own.count(), 1);
      assert.equal(await other.count(), 1);
      assert.match(await own.getAttribute("class"), /\bmine\b/);
      assert.match(await other.getAttribute("class"), /\bother\b/);
      assert.equal(await side(own), "right");
      assert.equal(await side(other), "left");
    }

    // b uploads a GIF: both see it as a loaded 1×1 image, on b's side (right for b, left
    // for a), like the text chats. The sides are checked last.
    await b.page.setInputFiles("#gif", { name: "tiny.gif", mimeType: "image/gif", buffer: TINY_GIF });
    const sides = {};
    for (const [page, who] of [
      [a.page, "a"],
      [b.page, "b"],
    ]) {
      const item = page.locator("#chat-list li.chat-item.kind-gif");
      await item.waitFor();
      assert.equal(await item.count(), 1);
      const image = item.locator("img.chat-gif");
      assert.equal(await image.getAttribute("alt"), `${bMe.name}님이 올린 이미지`);
      assert.match(await image.getAttribute("src"), /^\/gif\/[0-9a-f]{32}\.gif$/);
      await pageCondition(
        page,
        (img) => img.complete && img.naturalWidth === 1 && img.naturalHeight === 1,
        await image.elementHandle(),
        STEP_MS,
      );
      assert.match(await item.getAttribute("class"), who === "b" ? /\bmine\b/ : /\bother\b/);
      sides[who] = await side(item);
    }
    assert.equal(await b.page.locator("#chat-status").isHidden(), true);
    assert.deepEqual(sides, { a: "left", b: "right" }, "where each sees b's GIF");
  });

  it("a whisper shows for its sender and target only", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const { id, me: [aMe, bMe, cMe] } = await gather("귓속말방", a, b, c);

    const secret = "너한테만 하는 말";
    await a.page.selectOption("#whisper-to", bMe.id);
    await say(a.page, secret);
    for (const [page, who] of [
      [a.page, "mine"],
      [b.page, "other"],
    ]) {
      const item = message(page, secret);
      await item.waitFor();
      assert.match(await item.getAttribute("class"), new RegExp(`\\bkind-whisper\\b.*\\b${who}\\b`));
      assert.equal(await text(item.locator(".whisper-tag")), `귓속말 → ${bMe.name}`);
    }

    // After a public chat sent later, which c does get, c still has no whisper.
    await a.page.selectOption("#whisper-to", "");
    await say(a.page, "모두 안녕");
    await message(c.page, "모두 안녕").waitFor();
    assert.equal(await message(c.page, secret).count(), 0);
    assert.equal(await c.page.locator("#chat-list li.kind-whisper").count(), 0);
    // Nor after reloading (the history is filtered too).
    await c.page.reload();
    await joined(c.page);
    await message(c.page, "모두 안녕").waitFor();
    assert.equal(await c.page.locator("#chat-list li.kind-whisper").count(), 0);
  });

  it("the owner kicks someone, who lands on the list with the reason; the room hears of a kick", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const { id, me: [aMe, bMe] } = await gather("강퇴방", a, b);

    // Only the owner gets kick buttons, and not for themselves.
    assert.equal(await b.page.locator("#participants button").count(), 0);
    assert.equal(await a.page.locator(`#participants li.person[data-id="${aMe.id}"] button`).count(), 0);

    const asked = new Promise((resolve) =>
      a.page.once("dialog", (dialog) => {
        resolve(dialog.message());
        dialog.accept();
      }),
    );
    await a.page.locator(`#participants li.person[data-id="${bMe.id}"] button`, { hasText: "강퇴" }).click();
    assert.equal(await asked, `${bMe.name}님을 강퇴할까요?`);

    const status = b.page.locator("#chat-status");
    await status.waitFor();
    assert.equal(await text(status), "방장에게 강퇴당했습니다.");
    await b.page.waitForURL(`${app.url}/`, { timeout: LEAVE_DELAY_MS + STEP_MS });
    assert.equal(await text(b.page.locator("#flash")), "강퇴당한 방에는 다시 들어갈 수 없습니다.");

    const kicked = `${bMe.name}님이 방장에게 강퇴당했습니다.`;
    await notice(a.page, kicked).waitFor();
    await until(() => participantIds(a.page), [aMe.id], "a's participants");
    // Someone coming in later reads it so in the history, and nobody saw a plain departure.
    const cMe = await enter(c.page, id);
    const entered = (who) => `${who.name}님이 입장하셨습니다.`;
    assert.deepEqual(await notices(c.page), [entered(aMe), entered(bMe), kicked]);
    await until(() => notices(a.page), [entered(bMe), kicked, entered(cMe)], "a's notices");
    // Going back by the address does not work either.
    await b.page.goto(`${app.url}/room/${id}`);
    assert.equal(b.page.url(), `${app.url}/`);
    assert.equal(await text(b.page.locator("#flash")), "강퇴당한 방에는 다시 들어갈 수 없습니다.");
  });

  it("the owner leaving hands the room over; the room goes once everyone left", async () => {
    const [a, b, watcher] = [await person(), await person(), await person()];
    await openList(watcher.page);
    const id = await createRoom(a.page, { name: title("인계방") });
    const aMe = await joined(a.page);
    const bMe = await enter(b.page, id);
    assert.equal(await b.page.locator("#delete-room").getAttribute("hidden"), "");
    const count = roomEntry(watcher.page, id).locator(".room-count-now");
    await until(() => text(count), "2", "the head count");

    // 방 나가기 says goodbye: the others hear of it at once, not a grace period later as
    // after a closed page.
    const clicked = Date.now();
    await a.page.click("#exit-btn");
    await notice(b.page, `${aMe.name}님이 퇴장하셨습니다.`).waitFor({ timeout: GRACE_MS });
    await notice(b.page, `${bMe.name}님이 방장이 되었습니다.`).waitFor({ timeout: GRACE_MS });
    const took = Date.now() - clicked;
    assert.ok(took < GRACE_MS, `the departure took ${took} ms, the grace period is ${GRACE_MS} ms`);
    await a.page.waitForURL(`${app.url}/`);
    await socketConnected(a.page, "/room");
    await until(() => text(b.page.locator(".owner-name")), bMe.name, "the owner b sees");
    assert.equal(await b.page.locator("#delete-room").getAttribute("hidden"), null);
    assert.equal(await b.page.locator("#delete-room").isVisible(), true);
    const bEntry = b.page.locator(`#participants li.person[data-id="${bMe.id}"]`);
    await until(() => bEntry.locator(".badge").allTextContents(), ["방장", "나"], "b's badges");
    await until(() => text(count), "1", "the head count");

    await b.page.click("#exit-btn");
    await b.page.waitForURL(`${app.url}/`);
    await until(() => text(count), "0", "the head count");
    // Deleted after the grace period: gone from every open list, and from a fresh one.
    const deadline = GRACE_MS + STEP_MS;
    await roomEntry(watcher.page, id).waitFor({ state: "detached", timeout: deadline });
    await roomEntry(a.page, id).waitFor({ state: "detached", timeout: STEP_MS });
    await b.page.reload();
    assert.equal(await roomEntry(b.page, id).count(), 0);
  });

  it("only the owner sees the delete button", async () => {
    const [a, b] = [await person(), await person()];
    const id = await createRoom(a.page, { name: title("삭제버튼방") });
    await joined(a.page);
    await enter(b.page, id);
    assert.equal(await a.page.locator("#delete-room").isVisible(), true);
    // The button carries `hidden` for b; it must also look hidden.
    assert.equal(await b.page.locator("#delete-room").getAttribute("hidden"), "");
    assert.equal(await b.page.locator("#delete-room").isVisible(), false, "b, not the owner, sees 방 삭제");
  });

  it("a secret room asks for its password in a form, never in the address", async () => {
    const [a, b] = [await person(), await person()];
    await openList(b.page);
    const password = "열려라 참깨";
    const id = await createRoom(a.page, { name: title("비밀방"), password });
    assert.equal(await a.page.locator("#password").count(), 0, "the creator is let in at once");
    const aMe = await joined(a.page);
    assert.equal(a.page.url().includes(encodeURIComponent(password)), false);

    const entry = roomEntry(b.page, id);
    await entry.waitFor();
    assert.equal(await text(entry.locator(".badge")), "비밀방");
    await entry.locator("a.room-enter").click();
    await b.page.waitForURL(`${app.url}/room/${id}`);
    const field = b.page.locator("#password");
    assert.equal(await field.getAttribute("type"), "password");
    assert.equal(await b.page.locator("form", { has: field }).getAttribute("method"), "post");
    assert.equal(await b.page.locator("#chat").count(), 0);

    // A wrong password: still on the form, which says why; empty, to type it again.
    await field.fill("틀린 비밀번호");
    await b.page.click('form button[type="submit"]');
    await b.page.waitForURL(`${app.url}/room/${id}`);
    assert.equal(await text(b.page.locator("#password-error")), "비밀번호가 틀렸습니다.");
    assert.equal(await b.page.locator("#password").inputValue(), "");
    assert.equal(await b.page.locator("#password").getAttribute("aria-invalid"), "true");
    // Said once: a reload shows the plain form (and posts nothing again).
    await b.page.reload();
    assert.equal(b.page.url(), `${app.url}/room/${id}`);
    assert.equal(await b.page.locator("#password-error").count(), 0);
    assert.equal(await b.page.locator("#chat").count(), 0);

    await b.page.locator("#password").fill(password);
    await b.page.click('form button[type="submit"]');
    await b.page.waitForURL(`${app.url}/room/${id}`);
    const bMe = await joined(b.page);
    await notice(a.page, `${bMe.name}님이 입장하셨습니다.`).waitFor();
    await until(() => participantIds(b.page), [aMe.id, bMe.id], "b's participants");
  });

  it("a file over 5 MB is refused with the limit message on the page", async () => {
    const [a] = [await person()];
    await createRoom(a.page, { name: title("큰파일방") });
    await joined(a.page);

    const big = Buffer.alloc(6 * 1024 * 1024);
    TINY_GIF.copy(big);
    await a.page.setInputFiles("#gif", { name: "big.gif", mimeType: "image/gif", buffer: big });
    const status = a.page.locator("#chat-status");
    await status.waitFor();
    assert.equal(await text(status), "파일 크기는 5MB 이하여야 합니다.");

    // Behind a later chat: no image was posted.
    await say(a.page, "큰 파일은 안 되네요");
    await message(a.page, "큰 파일은 안 되네요").waitFor();
    assert.equal(await a.page.locator("#chat-list li.kind-gif").count(), 0);
    assert.equal(await a.page.locator("#gif").inputValue(), "");
  });
});

/** The page's `/chat` socket (support/browser.mjs keeps them). */
function chatSocket() {
  return window.__ioSockets.find((socket) => socket.nsp === "/chat");
}

/** Cuts the page's connection the way a network drop does, and keeps it cut. */
function dropConnection(page) {
  return page.evaluate(() => {
    const socket = window.__ioSockets.find((s) => s.nsp === "/chat");
    socket.io.reconnection(false);
    socket.io.engine.close();
  });
}

/** The network is back: the client reconnects. */
function restoreConnection(page) {
  return page.evaluate(() => {
    const socket = window.__ioSockets.find((s) => s.nsp === "/chat");
    socket.io.reconnection(true);
    socket.connect();
  });
}

/**
 * Each chat item of the list: its id, its markup in a canonical form (elements with sorted
 * attributes, text without the whitespace between tags) and its size.
 */
function chatItems(page) {
  return page.locator("#chat-list > li").evaluateAll((items) => {
    function canon(node) {
      if (node.nodeType === Node.TEXT_NODE) {
        const words = node.textContent.trim();
        return words ? JSON.stringify(words) : "";
      }
      const attributes = Array.from(node.attributes)
        .map((a) => `${a.name}=${JSON.stringify(a.value)}`)
        .sort()
        .join(" ");
      const inside = Array.from(node.childNodes).map(canon).join("");
      return `<${node.localName} ${attributes}>${inside}</${node.localName}>`;
    }
    return items.map((li) => {
      const box = li.getBoundingClientRect();
      return { id: li.dataset.chatId, markup: canon(li), width: Math.round(box.width), height: Math.round(box.height) };
    });
  });
}

/** Waits until every image of the chat list has loaded. */
function imagesLoaded(page) {
  return pageCondition(
    page,
    () => Array.from(document.querySelectorAll("#chat-list img")).every((img) => img.complete && img.naturalWidth > 0),
    null,
    STEP_MS,
  );
}

/** The kick buttons of a page. */
function kickButtons(page) {
  return page.locator("#participants button", { hasText: "강퇴" });
}

/** The texts of the badges of `id`'s entry in the participant list. */
function badges(page, id) {
  return page.locator(`#participants li.person[data-id="${id}"] .badge`).allTextContents();
}

/** Whether the element is entirely inside the window, which has not been scrolled. */
function fullyInView(locator) {
  return locator.evaluate((el) => {
    const box = el.getBoundingClientRect();
    return (
      window.scrollY === 0 &&
      box.top >= 0 &&
      box.left >= 0 &&
      box.bottom <= window.innerHeight &&
      box.right <= window.innerWidth &&
      box.height > 0
    );
  });
}

describe("the room as people use it: reloads, late comers, a phone", () => {
  it("history after a reload looks exactly like the chats that arrived live", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const id = await createRoom(a.page, { name: title("기록방") });
    const aMe = await joined(a.page);
    const bMe = await enter(b.page, id);

    // Live on b's page: chats both ways, a whisper, an image, a newcomer's notice.
    await say(a.page, "안녕하세요");
    await say(b.page, "반가워요\n(여러 줄은 아니지만 아주 긴 메시지도 한 번 보내 봅니다. ".repeat(3) + ")");
    await a.page.selectOption("#whisper-to", bMe.id);
    await say(a.page, "너한테만 하는 말");
    await b.page.setInputFiles("#gif", { name: "tiny.gif", mimeType: "image/gif", buffer: TINY_GIF });
    const cMe = await enter(c.page, id);
    await notice(b.page, `${cMe.name}님이 입장하셨습니다.`).waitFor();
    await message(b.page, "너한테만 하는 말").waitFor();
    await b.page.locator("#chat-list li.kind-gif").waitFor();
    await imagesLoaded(b.page);
    const live = await chatItems(b.page);
    // a's arrival (history already), two chats, the whisper, the image, c's arrival.
    assert.equal(live.length, 6, JSON.stringify(live));

    await b.page.reload();
    await joined(b.page);
    await imagesLoaded(b.page);
    const history = await chatItems(b.page);
    for (const item of live) {
      assert.deepEqual(history.find((h) => h.id === item.id), item, `chat ${item.id} after the reload`);
    }
    // And a one-line chat is one line high (it was a giant bubble once).
    const hello = message(b.page, "안녕하세요");
    const lines = await hello.locator(".chat-text").evaluate((el) => el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight));
    assert.equal(Math.round(lines), 1);
    assert.ok((await hello.boundingBox()).height < 90, "a one-line chat's bubble");
    // c, who came later, has the same history but the whisper (and c's own arrival, which
    // came after c's page), in the same markup but for whose side each chat is on.
    const sideless = ({ id, markup }) => ({ id, markup: markup.replace(/ (mine|other)"/, ' SIDE"') });
    const late = await chatItems(c.page);
    const shared = history.filter(
      (item) => !item.markup.includes("kind-whisper") && !item.markup.includes(`${cMe.name}님이 입장하셨습니다.`),
    );
    assert.deepEqual(late.map(sideless), shared.map(sideless));
    assert.equal(await c.page.locator("#chat-list li.kind-whisper").count(), 0);
    assert.deepEqual(await notices(c.page), [`${aMe.name}님이 입장하셨습니다.`, `${bMe.name}님이 입장하셨습니다.`]);
  });

  it("an owner who reloads keeps the room and their buttons, and nobody hears of it", async () => {
    const [a, b, watcher] = [await person(), await person(), await person()];
    await openList(watcher.page);
    const id = await createRoom(a.page, { name: title("새로고침방") });
    const aMe = await joined(a.page);
    const bMe = await enter(b.page, id);
    await until(() => participantIds(b.page), [aMe.id, bMe.id], "b's participants");
    const before = await notices(b.page);
    // Any change to b's participant list is counted (observation only).
    await b.page.evaluate(() => {
      window.__peopleChanges = 0;
      new MutationObserver(() => window.__peopleChanges++).observe(document.getElementById("participants"), {
        childList: true,
      });
    });

    // Twice, and then well past the grace period.
    for (let i = 0; i < 2; i++) {
      await a.page.reload();
      await joined(a.page);
    }
    await sleep(GRACE_MS + 500);

    assert.deepEqual(await notices(b.page), before, "b saw neither a departure nor an arrival");
    assert.equal(await b.page.evaluate(() => window.__peopleChanges), 0);
    assert.equal(await text(b.page.locator(".owner-name")), aMe.name);
    assert.equal(await b.page.locator("#delete-room").isVisible(), false);
    const entry = roomEntry(watcher.page, id);
    assert.equal(await text(entry.locator(".room-owner")), `방장 ${aMe.name}`);
    assert.equal(await text(entry.locator(".room-count-now")), "2");
    // a's page says a owns the room, and the server agrees.
    assert.equal(await text(a.page.locator(".owner-name")), aMe.name);
    assert.equal(await a.page.locator("#delete-room").isVisible(), true);
    assert.deepEqual(await badges(a.page, aMe.id), ["방장", "나"]);
    await until(() => kickButtons(a.page).count(), 1, "a's kick buttons");
    a.page.once("dialog", (dialog) => dialog.accept());
    await kickButtons(a.page).click();
    await b.page.waitForURL(`${app.url}/`, { timeout: LEAVE_DELAY_MS + STEP_MS });
    assert.equal(await a.page.locator("#chat-status").isHidden(), true, "no refusal on a's page");
    // Someone coming in now finds the same: a's reloads left no trace.
    const c = await person();
    await enter(c.page, id);
    assert.equal(await text(c.page.locator(".owner-name")), aMe.name);
    const history = await notices(c.page);
    assert.equal(history.filter((n) => n.startsWith(`${aMe.name}님`)).length, 1, history.join(" | "));
  });

  it("a page takes the owner from the server's list: a drop past the grace period hands the room over", async () => {
    const [a, b, watcher] = [await person(), await person(), await person()];
    await openList(watcher.page);
    const id = await createRoom(a.page, { name: title("인계방") });
    const aMe = await joined(a.page);
    const bMe = await enter(b.page, id);
    const entry = roomEntry(watcher.page, id);
    await until(() => text(entry.locator(".room-owner")), `방장 ${aMe.name}`, "the owner on the list");

    await dropConnection(a.page);
    await until(() => text(a.page.locator("#chat-status")), "연결이 끊겼습니다. 다시 연결하는 중…", "a's status");
    await notice(b.page, `${bMe.name}님이 방장이 되었습니다.`).waitFor({ timeout: GRACE_MS + STEP_MS });
    await until(() => text(b.page.locator(".owner-name")), bMe.name, "the owner b sees");
    assert.equal(await b.page.locator("#delete-room").isVisible(), true);
    // The room list follows without a reload.
    await until(() => text(entry.locator(".room-owner")), `방장 ${bMe.name}`, "the owner on the list");

    // a's page was rendered with a as the owner; once back it shows what the server says.
    await restoreConnection(a.page);
    await socketConnected(a.page, "/chat");
    await until(() => participantIds(a.page), [bMe.id, aMe.id], "a's participants");
    await until(() => text(a.page.locator(".owner-name")), bMe.name, "the owner a sees");
    assert.equal(await a.page.locator("#delete-room").isVisible(), false);
    assert.equal(await kickButtons(a.page).count(), 0);
    assert.deepEqual(await badges(a.page, aMe.id), ["나"]);
    assert.deepEqual(await badges(a.page, bMe.id), ["방장"]);
    assert.equal(await a.page.locator("#chat-status").isHidden(), true);
    await until(() => kickButtons(b.page).count(), 1, "b's kick buttons");
  });

  it("after a whisper the next message goes to everyone; while one is chosen the box says so", async () => {
    const [a, b, c] = [await person(), await person(), await person()];
    const { id, me: [aMe, bMe, cMe] } = await gather("귓속말초기화방", a, b, c);

    assert.equal(await a.page.locator("#chat-text").getAttribute("placeholder"), "메시지를 입력하세요");
    await a.page.selectOption("#whisper-to", bMe.id);
    assert.match(await a.page.locator("#chat-form").getAttribute("class"), /\bwhispering\b/);
    assert.equal(await a.page.locator("#chat-text").getAttribute("placeholder"), `${bMe.name}님에게 귓속말`);
    await say(a.page, "조용히 말할게");
    await until(() => a.page.locator("#whisper-to").inputValue(), "", "the whisper target");
    assert.doesNotMatch(await a.page.locator("#chat-form").getAttribute("class"), /\bwhispering\b/);
    assert.equal(await a.page.locator("#chat-text").getAttribute("placeholder"), "메시지를 입력하세요");

    await say(a.page, "이건 모두에게");
    for (const page of [a.page, b.page, c.page]) {
      const item = message(page, "이건 모두에게");
      await item.waitFor();
      assert.match(await item.getAttribute("class"), /\bkind-text\b/);
    }
    assert.equal(await message(c.page, "조용히 말할게").count(), 0);
  });

  for (const [label, viewport] of [
    ["1280×800", DESKTOP],
    ["390×844", PHONE],
  ]) {
    it(`at ${label}, with a long history and four people, a status message leaves the message box in sight`, async () => {
      const a = await person(viewport);
      const others = [await person(), await person(), await person()];
      const id = await createRoom(a.page, { name: title(`긴 대화방 ${label}`) });
      const aMe = await joined(a.page);
      const ids = [aMe.id];
      for (const other of others) {
        await other.page.goto(`${app.url}/room/${id}`);
        ids.push((await joined(other.page)).id);
      }
      await until(() => participantIds(a.page), ids, "a's participants");
      for (let i = 1; i <= 30; i++) await say(others[i % 3].page, `메시지 ${i}번입니다`);
      await message(a.page, "메시지 30번입니다").waitFor();

      const box = a.page.locator("#chat-text");
      const send = a.page.locator("#chat-form button[type=submit]");
      const last = message(a.page, "메시지 30번입니다");
      const inList = () =>
        last.evaluate((li) => {
          const list = document.getElementById("chat-list").getBoundingClientRect();
          const item = li.getBoundingClientRect();
          return item.top >= list.top - 1 && item.bottom <= list.bottom + 1;
        });
      assert.equal(await fullyInView(box), true, "the message box, with no message shown");
      assert.equal(await inList(), true, "the latest chat is in sight");

      // A refusal, then a lost connection: each above the box, which stays in sight.
      const big = Buffer.alloc(6 * 1024 * 1024);
      TINY_GIF.copy(big);
      await a.page.setInputFiles("#gif", { name: "big.gif", mimeType: "image/gif", buffer: big });
      await until(() => text(a.page.locator("#chat-status")), "파일 크기는 5MB 이하여야 합니다.", "the status");
      assert.equal(await fullyInView(box), true, "the message box, under a refusal");
      assert.equal(await fullyInView(send), true, "the send button, under a refusal");
      assert.equal(await fullyInView(a.page.locator("#chat-status")), true, "the status itself");

      await dropConnection(a.page);
      await until(() => text(a.page.locator("#chat-status")), "연결이 끊겼습니다. 다시 연결하는 중…", "the status");
      assert.equal(await fullyInView(box), true, "the message box, while disconnected");
      assert.equal(await fullyInView(send), true, "the send button, while disconnected");
      assert.equal(
        await a.page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight),
        true,
        "the page itself never needs scrolling",
      );
      await restoreConnection(a.page);
      await socketConnected(a.page, "/chat");
      await until(() => a.page.locator("#chat-status").isHidden(), true, "the status goes once back");
      await say(a.page, "다시 연결됐어요");
      assert.equal(await fullyInView(box), true);
    });
  }

  for (const [label, viewport] of [
    ["1280×800", DESKTOP],
    ["390×844", PHONE],
  ]) {
    it(`at ${label} the kick buttons stay beside the names, badges and all`, async () => {
      const a = await person(viewport);
      const [b, c] = [await person(), await person()];
      const id = await createRoom(a.page, { name: title(`강퇴버튼방 ${label}`) });
      const aMe = await joined(a.page);
      await enter(b.page, id);
      await enter(c.page, id);
      await until(() => kickButtons(a.page).count(), 2, "a's kick buttons");
      assert.deepEqual(await badges(a.page, aMe.id), ["방장", "나"]);
      const rows = await a.page.locator("#participants li.person").evaluateAll((items) =>
        items.map((li) => {
          const name = li.querySelector(".person-name").getBoundingClientRect();
          const badgeBoxes = Array.from(li.querySelectorAll(".badge")).map((b) => b.getBoundingClientRect());
          const button = li.querySelector(".kick")?.getBoundingClientRect();
          return {
            id: li.dataset.id,
            // The button sits on the name's line, to its right.
            buttonBeside: button ? button.left >= name.right && button.top < name.bottom && button.bottom > name.top : null,
            // Badges follow the name on its line.
            badgesBeside: badgeBoxes.every((b) => b.left >= name.right && b.top < name.bottom && b.bottom > name.top),
          };
        }),
      );
      for (const row of rows) {
        assert.equal(row.badgesBeside, true, JSON.stringify(row));
        assert.equal(row.buttonBeside, row.id === aMe.id ? null : true, JSON.stringify(row));
      }
    });
  }

  it("people are named, not numbered in hex, and the list explains one's name once", async () => {
    const [a, b] = [await person(), await person()];
    await openList(a.page);
    const me = a.page.locator("#rooms .me");
    const name = await text(me.locator(".my-name"));
    assert.match(name, /^\S+ \S+$/, "an adjective and an animal");
    assert.equal(
      (await text(me)).replace(/\s+/g, " "),
      `내 이름: ${name} 채팅방에서는 이 이름과 색으로 보입니다. 이 브라우저에 처음 왔을 때 정해집니다.`,
    );
    assert.equal(await a.page.locator(".me-note").count(), 1);
    const id = await createRoom(a.page, { name: title("이름방") });
    const aMe = await joined(a.page);
    assert.equal(aMe.name, name, "the same name in the room");
    await enter(b.page, id);
    await until(async () => (await participantIds(a.page)).length, 2, "a's participants");
    for (const part of ["#participants", ".chat-info", "#chat-list"]) {
      assert.doesNotMatch(await a.page.locator(part).innerText(), /#[0-9a-f]{6}/, part);
    }
    // The explanation is for the list only.
    assert.equal(await a.page.locator(".me-note").count(), 0);
  });
});
