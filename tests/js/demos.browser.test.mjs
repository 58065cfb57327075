// The chapter's two demos in a real browser: the raw WebSocket page and the Socket.IO page
// (default transports and websocket-only). The page shows what arrives and what it answers;
// the server's log shows the replies it received, and why a page's socket went.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startApp } from "./support/app.mjs";
import { launchBrowser } from "./support/browser.mjs";

/** The page's heading is its nav label plus " 데모"; its list says what it holds. */
async function assertNamedLikeItsLink(page, href) {
  const label = (await page.locator(`.site-nav a[href="${href}"]`).textContent()).trim();
  assert.equal((await page.locator("h1").textContent()).trim(), `${label} 데모`);
  assert.equal((await page.locator("main h2").textContent()).trim(), "주고받은 메시지");
  assert.equal(
    (await page.locator(".legend").textContent()).trim(),
    "← 받음: 서버가 보낸 메시지 · → 보냄: 이 페이지가 보낸 답장",
  );
}

/** The list's newest received message and the answer above it, each with its label. */
async function assertLabelled(page, list, received, answer) {
  const incoming = page.locator(`${list} .message-in`, { hasText: received }).first();
  await incoming.waitFor();
  assert.equal((await incoming.locator(".message-dir").textContent()).trim(), "← 받음");
  const outgoing = page.locator(`${list} .message-out`, { hasText: answer }).first();
  await outgoing.waitFor();
  assert.equal((await outgoing.locator(".message-dir").textContent()).trim(), "→ 보냄");
}

describe("demo pages in Chromium", () => {
  let app;
  let browser;

  before(async () => {
    app = await startApp({ WS_DEMO_INTERVAL_MS: "200", NEWS_INTERVAL_MS: "200" });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  test("the ws demo shows the server's message and the server logs the reply", async () => {
    const page = await browser.newPage();
    await page.goto(`${app.url}/ws-demo`);
    await assertNamedLikeItsLink(page, "/ws-demo");
    await assertLabelled(page, "#ws-messages", "서버에서 클라이언트로 메시지를 보냅니다.", "클라이언트에서 서버로 답장을 보냅니다.");
    await app.waitForLog(/클라이언트 메시지 .*"클라이언트에서 서버로 답장을 보냅니다\."/);
    await page.close();
  });

  for (const { name, query, transport } of [
    { name: "default transports (polling, then upgrade)", query: "", transport: "websocket" },
    { name: "websocket only", query: "?transport=websocket", transport: "websocket" },
  ]) {
    test(`the Socket.IO demo, ${name}; leaving the page is a transport close`, async () => {
      const page = await browser.newPage();
      await page.goto(`${app.url}/socketio-demo${query}`);
      await assertNamedLikeItsLink(page, "/socketio-demo");
      await assertLabelled(page, "#io-messages", "Hello Socket.IO", "Hello Node.JS");
      await page.locator("#io-transport", { hasText: transport }).waitFor();
      assert.equal(await page.locator("#io-status").textContent(), "연결됨");
      // This page's own socket, not one of an earlier test.
      const id = await page.locator("#io-id").textContent();
      assert.match(id, /^[\w-]{20}$/);
      await app.waitForLog(new RegExp(`reply \\(${id}\\): "Hello Node\\.JS"`));

      // A plain navigation away: the browser went, cleanly (Node logs the same reason).
      await page.goto(`${app.url}/`);
      const line = await app.waitForLog(new RegExp(`클라이언트가 접속을 해제했습니다\\. \\(.*, ${id}\\)`));
      assert.match(line, new RegExp(`\\(127\\.0\\.0\\.1, ${id}\\) transport close$`));
      await page.close();
    });
  }
});
