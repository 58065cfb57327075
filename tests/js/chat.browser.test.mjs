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

/** ROOM_DELETE_GRACE_MS: long enough for a page to load and join after creating its room. */
const GRACE_MS = 1500;
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
  app = await startApp({ ROOM_DELETE_GRACE_MS: String(GRACE_MS) });
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

/** A new person: their own browser context (cookies) and one page. */
async function person() {
  const context = await browser.newContext();
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
  return page.locator("#chat-list li.chat-item.chat-system").filter({ hasText: exactly(text) });
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
  return { id, colour: await text(me.locator(".person-name")) };
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

    // b's list got it without reloading, with a's colour and, soon, a's presence.
    const entry = roomEntry(b.page, id);
    await entry.waitFor();
    assert.equal(await text(entry.locator(".room-title")), name);
    assert.equal(await text(entry.locator(".badge")), "공개방");
    assert.equal(await text(entry.locator(".room-owner")), `방장 ${aMe.colour}`);
    await until(() => text(entry.locator(".room-count-now")), "1", "b's head count");

    await entry.locator("a.room-enter").click();
    await b.page.waitForURL(`${app.url}/room/${id}`);
    const bMe = await joined(b.page);
    assert.notEqual(bMe.id, aMe.id);
    await notice(a.page, `${bMe.colour}님이 입장하셨습니다.`).waitFor();
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
      const item = page.locator("#chat-list li.chat-item.chat-gif");
      await item.waitFor();
      assert.equal(await item.count(), 1);
      const image = item.locator("img.chat-gif");
      assert.equal(await image.getAttribute("alt"), `${bMe.colour}님이 올린 이미지`);
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
    const id = await createRoom(a.page, { name: title("귓속말방") });
    const aMe = await joined(a.page);
    await b.page.goto(`${app.url}/room/${id}`);
    const bMe = await joined(b.page);
    await c.page.goto(`${app.url}/room/${id}`);
    const cMe = await joined(c.page);
    await until(() => participantIds(a.page), [aMe.id, bMe.id, cMe.id], "a's participants");

    const secret = "너한테만 하는 말";
    await a.page.selectOption("#whisper-to", bMe.id);
    await say(a.page, secret);
    for (const [page, who] of [
      [a.page, "mine"],
      [b.page, "other"],
    ]) {
      const item = message(page, secret);
      await item.waitFor();
      assert.match(await item.getAttribute("class"), new RegExp(`\\bchat-whisper\\b.*\\b${who}\\b`));
      assert.equal(await text(item.locator(".whisper-tag")), `귓속말 → ${bMe.colour}`);
    }

    // After a public chat sent later, which c does get, c still has no whisper.
    await a.page.selectOption("#whisper-to", "");
    await say(a.page, "모두 안녕");
    await message(c.page, "모두 안녕").waitFor();
    assert.equal(await message(c.page, secret).count(), 0);
    assert.equal(await c.page.locator("#chat-list li.chat-whisper").count(), 0);
    // Nor after reloading (the history is filtered too).
    await c.page.reload();
    await joined(c.page);
    await message(c.page, "모두 안녕").waitFor();
    assert.equal(await c.page.locator("#chat-list li.chat-whisper").count(), 0);
  });

  it("the owner kicks someone, who lands on the list with the reason", async () => {
    const [a, b] = [await person(), await person()];
    const id = await createRoom(a.page, { name: title("강퇴방") });
    const aMe = await joined(a.page);
    await b.page.goto(`${app.url}/room/${id}`);
    const bMe = await joined(b.page);
    await until(() => participantIds(a.page), [aMe.id, bMe.id], "a's participants");

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
    assert.equal(await asked, `${bMe.colour}님을 강퇴할까요?`);

    const status = b.page.locator("#chat-status");
    await status.waitFor();
    assert.equal(await text(status), "방장에게 강퇴당했습니다.");
    await b.page.waitForURL(`${app.url}/`, { timeout: LEAVE_DELAY_MS + STEP_MS });
    assert.equal(await text(b.page.locator("#flash")), "강퇴당한 방에는 다시 들어갈 수 없습니다.");

    await notice(a.page, `${bMe.colour}님이 퇴장하셨습니다.`).waitFor();
    await until(() => participantIds(a.page), [aMe.id], "a's participants");
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
    await b.page.goto(`${app.url}/room/${id}`);
    const bMe = await joined(b.page);
    assert.equal(await b.page.locator("#delete-room").getAttribute("hidden"), "");
    const count = roomEntry(watcher.page, id).locator(".room-count-now");
    await until(() => text(count), "2", "the head count");

    await a.page.click("#exit-btn");
    await a.page.waitForURL(`${app.url}/`);
    await socketConnected(a.page, "/room");
    await notice(b.page, `${aMe.colour}님이 퇴장하셨습니다.`).waitFor();
    await notice(b.page, `${bMe.colour}님이 방장이 되었습니다.`).waitFor();
    await until(() => text(b.page.locator("#owner")), bMe.colour, "the owner b sees");
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
    await b.page.goto(`${app.url}/room/${id}`);
    await joined(b.page);
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

    await field.fill("틀린 비밀번호");
    await b.page.click('form button[type="submit"]');
    await b.page.waitForURL(`${app.url}/`);
    assert.equal(await text(b.page.locator("#flash")), "비밀번호가 틀렸습니다.");

    await roomEntry(b.page, id).locator("a.room-enter").click();
    await b.page.locator("#password").fill(password);
    await b.page.click('form button[type="submit"]');
    await b.page.waitForURL(`${app.url}/room/${id}`);
    const bMe = await joined(b.page);
    await notice(a.page, `${bMe.colour}님이 입장하셨습니다.`).waitFor();
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
    assert.equal(await a.page.locator("#chat-list li.chat-gif").count(), 0);
    assert.equal(await a.page.locator("#gif").inputValue(), "");
  });
});
