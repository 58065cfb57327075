// Starts the gif-chat binary for the browser tests, on a free port, and collects its log so
// a test can check what the server recorded.
//
// The binary is built by `cargo build -p gif-chat` (make test does it first).

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "./server.mjs";

const TARGET_DIR = process.env.CARGO_TARGET_DIR
  ? resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR)
  : join(REPO_ROOT, "target");
const APP_BIN = join(TARGET_DIR, "debug", "gif-chat");
const START_TIMEOUT_MS = 10_000;

/** A fresh folder for an app's database and uploads; `startApp` removes it unless given one. */
export function makeDataDir() {
  return mkdtempSync(join(tmpdir(), "gif-chat-test-"));
}

/**
 * Spawns gif-chat with `env` on top of a test configuration; resolves once it listens.
 * `waitForLog(re)` resolves with the first log line matching `re` (past or future).
 * With `dataDir`, the app uses (and keeps) that database, so a restart finds it again.
 */
export async function startApp(env = {}, { dataDir: keptDir } = {}) {
  if (!existsSync(APP_BIN)) {
    throw new Error(`gif-chat not found at ${APP_BIN}: run \`cargo build -p gif-chat\` first`);
  }
  // Each app gets its own database and uploads, removed when it stops, unless it was given one.
  const dataDir = keptDir ?? makeDataDir();
  const child = spawn(APP_BIN, [], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: "0",
      DATABASE_URL: `sqlite://${join(dataDir, "gif-chat.db")}`,
      UPLOAD_DIR: join(dataDir, "uploads"),
      COOKIE_SECRET: "browser-test cookie secret",
      APP_ENV: "development",
      RUST_LOG: "info",
      ...env,
    },
    stdio: ["ignore", "inherit", "pipe"],
  });
  const lines = [];
  const watchers = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    lines.push(line);
    for (const watcher of [...watchers]) {
      if (watcher.re.test(line)) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(line);
      }
    }
  });

  function waitForLog(re, timeoutMs = 5_000) {
    const seen = lines.find((line) => re.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      // The timer goes with the wait, so a resolved wait does not hold the process open.
      const watcher = {
        re,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      watchers.push(watcher);
      const timer = setTimeout(() => {
        const at = watchers.indexOf(watcher);
        if (at >= 0) {
          watchers.splice(at, 1);
          reject(new Error(`no log line matching ${re} within ${timeoutMs} ms`));
        }
      }, timeoutMs);
    });
  }

  let exit = null;
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  const listening = await Promise.race([
    waitForLog(/(\d+)번 포트에서 대기 중/, START_TIMEOUT_MS),
    exited.then(() => {
      throw new Error(`gif-chat exited before listening:\n${lines.join("\n")}`);
    }),
  ]);
  const port = /(\d+)번 포트에서 대기 중/.exec(listening)[1];

  return {
    url: `http://127.0.0.1:${port}`,
    waitForLog,
    log: () => lines.join("\n"),
    /** Null while the app runs; `{code, signal}` once it exited (or crashed). */
    exitInfo: () => exit,
    /** Sends `signal`; resolves with `{code, signal}` once the app exited. */
    async kill(signal) {
      child.kill(signal);
      await exited;
      return exit;
    },
    /** Resolves once the app has exited, whatever stopped it. */
    exited,
    async stop() {
      if (exit === null) {
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), 6_000);
        await exited;
        clearTimeout(timer);
      }
      if (!keptDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
