// The chapter's two demos in a real browser: the raw WebSocket page and the Socket.IO page
// (default transports and websocket-only). The page shows what arrives; the server's log
// shows the replies it received.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startApp } from "./support/app.mjs";
import { launchBrowser } from "./support/browser.mjs";

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
    await page
      .locator("#ws-messages .message-in", { hasText: "서버에서 클라이언트로 메시지를 보냅니다." })
      .first()
      .waitFor();
    await app.waitForLog(/클라이언트 메시지 .*"클라이언트에서 서버로 답장을 보냅니다\."/);
    await page.close();
  });

  for (const { name, query, transport } of [
    { name: "default transports (polling, then upgrade)", query: "", transport: "websocket" },
    { name: "websocket only", query: "?transport=websocket", transport: "websocket" },
  ]) {
    test(`the Socket.IO demo, ${name}`, async () => {
      const page = await browser.newPage();
      await page.goto(`${app.url}/socketio-demo${query}`);
      await page.locator("#io-messages .message-in", { hasText: "Hello Socket.IO" }).first().waitFor();
      await page.locator("#io-transport", { hasText: transport }).waitFor();
      assert.equal(await page.locator("#io-status").textContent(), "연결됨");
      // This page's own socket, not one of an earlier test.
      const id = await page.locator("#io-id").textContent();
      assert.match(id, /^[\w-]{20}$/);
      await app.waitForLog(new RegExp(`reply \\(${id}\\): "Hello Node\\.JS"`));
      await page.close();
    });
  }
});
