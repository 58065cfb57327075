// Debian's Chromium driven by playwright-core: no downloaded browser.

import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root in CI, without a GPU, and with no network beyond loopback.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Lets a test see the pages' Socket.IO sockets: every socket a page makes with the global
 * `io()` of /socket.io/socket.io.js is kept in `window.__ioSockets`. Observation only; the
 * page's own code is unchanged.
 */
export function watchSockets(context) {
  return context.addInitScript(() => {
    const sockets = [];
    let wrapped;
    Object.defineProperty(window, "__ioSockets", { value: sockets });
    // socket.io.js sets `globalThis.io = factory()`: wrap what it sets.
    Object.defineProperty(window, "io", {
      configurable: true,
      get: () => wrapped,
      set(real) {
        wrapped = Object.assign((...args) => {
          const socket = real(...args);
          sockets.push(socket);
          return socket;
        }, real);
      },
    });
  });
}

/**
 * Polls a condition in the page on a short timer rather than on animation frames, so it does
 * not depend on the page being painted (tests drive several pages at once).
 */
export function pageCondition(page, fn, arg, timeout = 5_000) {
  return page.waitForFunction(fn, arg, { timeout, polling: 25 });
}

/**
 * Resolves once the page has a connected socket on namespace `nsp` whose connection has
 * finished its upgrade from long-polling to WebSocket (the client's default path; packets
 * for a connection stuck halfway wait until the upgrade ends).
 */
export async function socketConnected(page, nsp, timeout = 5_000) {
  const ready = (name) =>
    window.__ioSockets.some(
      (socket) => socket.nsp === name && socket.connected && socket.io.engine.transport.name === "websocket",
    );
  try {
    await pageCondition(page, ready, nsp, timeout);
  } catch (err) {
    const state = await page.evaluate(() =>
      window.__ioSockets.map((s) => ({
        nsp: s.nsp,
        connected: s.connected,
        transport: s.io.engine?.transport?.name,
        upgrading: s.io.engine?.upgrading,
      })),
    );
    throw new Error(
      `no ${nsp} socket connected over websocket within ${timeout} ms (${JSON.stringify(state)}); ` +
        "a socket stuck on polling while upgrading is the actix-socketio upgrade stall",
      { cause: err },
    );
  }
}
