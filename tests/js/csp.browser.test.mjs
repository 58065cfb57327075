// Every page under its Content-Security-Policy in Chromium: the room list, the create form
// (and its error), the password form, a chat room with every kind of history (text, GIF,
// whisper, notices), both demos and the error page load and work without a single CSP
// violation, while an inline script injected on purpose is refused and reported.
//
//   cargo build -p gif-chat && node --test tests/js/csp.browser.test.mjs

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { startApp } from "./support/app.mjs";
import { launchBrowser, pageCondition, socketConnected, watchSockets } from "./support/browser.mjs";

const STEP_MS = 5_000;

/** A 1×1 GIF89a. */
const TINY_GIF = Buffer.from([
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xff, 0xff, 0xff,
  0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44,
  0x01, 0x00, 0x3b,
]);

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

/**
 * A person whose pages record every CSP violation: the `securitypolicyviolation` events
 * (from an init script, which the policy does not apply to) and Chromium's console reports.
 */
async function person() {
  const context = await browser.newContext();
  context.setDefaultTimeout(STEP_MS);
  await watchSockets(context);
  await context.addInitScript(() => {
    const seen = [];
    Object.defineProperty(window, "__cspViolations", { value: seen });
    document.addEventListener("securitypolicyviolation", (e) =>
      seen.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  const page = await context.newPage();
  const reports = [];
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) reports.push(msg.text());
  });
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  return { context, page, reports, errors };
}

/** Opens `path`; checks the answer carries the policy. */
async function open(who, path, status = 200) {
  const res = await who.page.goto(`${app.url}${path}`);
  assert.equal(res.status(), status, path);
  assert.match(res.headers()["content-security-policy"] ?? "", /^default-src 'self'; /, path);
  return res;
}

/** Fails if the page (or any page before it, in `who`'s console) reported a violation. */
async function noViolations(who, where) {
  const events = await who.page.evaluate(() => window.__cspViolations);
  assert.deepEqual(events, [], `CSP violations on ${where}`);
  assert.deepEqual(who.reports, [], `CSP reports in the console on ${where}`);
  assert.deepEqual(who.errors, [], `uncaught errors on ${where}`);
}

describe("the Content-Security-Policy in Chromium", () => {
  test("an inline script is refused and reported, so the checks below can fail", async () => {
    const a = await person();
    await open(a, "/");
    await a.page.evaluate(() => {
      const script = document.createElement("script");
      script.textContent = "window.__inlineRan = true;";
      document.body.append(script);
    });
    await pageCondition(a.page, () => window.__cspViolations.length > 0, null, STEP_MS);
    assert.equal(await a.page.evaluate(() => window.__inlineRan), undefined);
    const events = await a.page.evaluate(() => window.__cspViolations);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.match(events[0], /^script-src-elem blocked inline/);
    assert.equal(a.reports.length, 1, JSON.stringify(a.reports));
    await a.context.close();
  });

  test("every page of the chat loads and works without a violation", async () => {
    const [a, b] = [await person(), await person()];

    // The room list, live.
    await open(a, "/");
    await socketConnected(a.page, "/room");
    await noViolations(a, "the room list");

    // The create form, refused once (its error), then a secret room.
    await open(a, "/room");
    await a.page.fill("#title", "CSP 방");
    await a.page.fill("#max", "1");
    await a.page.fill("#password", "열려라");
    // Past the browser's own check (min="2"), as a browser without it would send it.
    await a.page.locator("form.form").evaluate((form) => (form.noValidate = true));
    await a.page.click('form button[type="submit"]');
    await a.page.locator("#form-error").waitFor();
    await noViolations(a, "the form with its error");
    await a.page.fill("#max", "5");
    await a.page.fill("#password", "열려라");
    await a.page.click('form button[type="submit"]');
    await a.page.waitForURL(/\/room\/\d+$/);
    const room = /\/room\/(\d+)$/.exec(a.page.url())[1];
    await socketConnected(a.page, "/chat");
    const aId = await a.page.locator("#chat").getAttribute("data-me");

    // b: the password form, then the room.
    await open(b, `/room/${room}`);
    await b.page.locator('form[action$="/password"]').waitFor();
    await noViolations(b, "the password form");
    await b.page.fill("#password", "열려라");
    await b.page.click('form button[type="submit"]');
    await b.page.waitForURL(new RegExp(`/room/${room}$`));
    await socketConnected(b.page, "/chat");
    await a.page.locator("#participants li.person").nth(1).waitFor();

    // A chat, a GIF, a whisper: live on both pages.
    await a.page.fill("#chat-text", "정책 아래의 대화");
    await a.page.press("#chat-text", "Enter");
    await b.page.locator("#chat-list div.chat-text", { hasText: "정책 아래의 대화" }).waitFor();
    await b.page.setInputFiles("#gif", { name: "tiny.gif", mimeType: "image/gif", buffer: TINY_GIF });
    const gif = a.page.locator("#chat-list img.chat-gif");
    await gif.waitFor();
    await pageCondition(a.page, (img) => img.complete && img.naturalWidth === 1, await gif.elementHandle(), STEP_MS);
    await b.page.selectOption("#whisper-to", aId);
    await b.page.fill("#chat-text", "둘만의 이야기");
    await b.page.press("#chat-text", "Enter");
    await a.page.locator("#chat-list .kind-whisper div.chat-text", { hasText: "둘만의 이야기" }).waitFor();
    await noViolations(a, "the chat room, live");
    await noViolations(b, "the chat room, live");

    // The same history rendered by the server, names in their colours: classes of the
    // stylesheet, which the policy allows (it refuses style attributes).
    await a.page.reload();
    await socketConnected(a.page, "/chat");
    for (const selector of [".kind-system .chat-notice", "div.chat-text", ".kind-whisper .whisper-tag", "img.chat-gif"]) {
      await a.page.locator(`#chat-list ${selector}`).first().waitFor();
    }
    const colours = await a.page.locator("#chat-list .chat-user .who").evaluateAll((names) =>
      names.map((name) => {
        const tone = [...name.classList].find((c) => c.startsWith("tone-"));
        const probe = document.createElement("span");
        probe.className = tone;
        document.body.append(probe);
        const expected = getComputedStyle(probe).color;
        probe.remove();
        return [tone, getComputedStyle(name).color, expected, getComputedStyle(document.body).color];
      }),
    );
    assert.ok(colours.length >= 3, JSON.stringify(colours));
    for (const [tone, shown, expected, body] of colours) {
      assert.ok(tone, JSON.stringify(colours));
      assert.equal(shown, expected, `${tone} is shown in its colour`);
      assert.notEqual(shown, body, `${tone} is not the text colour`);
    }
    await noViolations(a, "the chat room, reloaded");

    // Both demos, and the error page.
    await open(a, "/ws-demo");
    await a.page.locator("#ws-messages .message-in").first().waitFor();
    await noViolations(a, "the ws demo");
    for (const query of ["", "?transport=websocket"]) {
      await open(a, `/socketio-demo${query}`);
      await a.page.locator("#io-messages .message-in").first().waitFor();
      await a.page.locator("#io-transport", { hasText: "websocket" }).waitFor();
      await noViolations(a, `the Socket.IO demo${query}`);
    }
    await open(a, "/no-such-page", 404);
    await a.page.locator("h2", { hasText: "404" }).waitFor();
    await noViolations(a, "the error page");

    await a.context.close();
    await b.context.close();
  });
});
