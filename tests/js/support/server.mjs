// Starts the prebuilt interop server (crates/actix-socketio/examples/interop.rs) for the
// JavaScript tests, and stops it after them.
//
// The binary is built by `cargo build -p actix-socketio --example interop`; the tests never
// build it themselves, so a stale or missing build is reported instead of hidden.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: tests/js/support/ is three levels below it. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

const TARGET_DIR = process.env.CARGO_TARGET_DIR
  ? resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR)
  : join(REPO_ROOT, "target");

/** Where cargo puts the example binary. */
export const INTEROP_BIN = join(
  TARGET_DIR,
  "debug",
  "examples",
  process.platform === "win32" ? "interop.exe" : "interop",
);

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 3_000;

/**
 * Spawns the interop server on an ephemeral port and resolves once it prints
 * `listening on http://127.0.0.1:<port>`. `env` adds environment variables (e.g.
 * `PING_TIMEOUT_MS`).
 *
 * @param {Record<string, string>} [env]
 * @returns {Promise<{url: string, child: import("node:child_process").ChildProcess,
 *   exited: () => boolean, exitInfo: () => string, stop: () => Promise<void>}>}
 */
export async function startServer(env = {}) {
  if (!existsSync(INTEROP_BIN)) {
    throw new Error(
      `interop server not found at ${INTEROP_BIN}: ` +
        "run `cargo build -p actix-socketio --example interop` first",
    );
  }
  const child = spawn(INTEROP_BIN, [], {
    cwd: REPO_ROOT,
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn", ...env, PORT: "0" },
    // Server logs (and any panic) go straight to the test output.
    stdio: ["ignore", "pipe", "inherit"],
  });
  let exit = null;
  const exitedPromise = new Promise((resolveExit) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolveExit();
    });
  });

  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`interop server did not print "listening on" within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const match = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    exitedPromise.then(() => {
      clearTimeout(timer);
      reject(new Error(`interop server exited before listening (${JSON.stringify(exit)})`));
    });
  });

  return {
    url,
    child,
    exited: () => exit !== null,
    exitInfo: () => JSON.stringify(exit),
    async stop() {
      if (exit !== null) return;
      child.kill("SIGTERM");
      const killTimer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exitedPromise;
      clearTimeout(killTimer);
    },
  };
}
