// A person of the chat room seen from Node: an HTTP session (one cookie jar, the requests a
// browser would make) and socket.io-client sockets that carry its cookie, with a recorder of
// everything each socket receives.

import { io } from "socket.io-client";

/** Upper bound for anything that should happen "at once". */
export const STEP_MS = 3_000;

const COOKIE_NAME = "gif-chat.sid";
const ANY = () => true;

/** The text of the room list's one-shot message (`#flash`), or null. */
export function flashOf(html) {
  const match = /<p class="flash" role="alert" id="flash">([^<]*)<\/p>/.exec(html);
  return match ? match[1] : null;
}

/** One visitor: their session cookie, public id (once they saw a room page), name and tone. */
export class Visitor {
  /** A new visitor who has opened the room list once (which gives them a session). */
  static async arrive(base) {
    const visitor = new Visitor(base);
    const home = await visitor.get("/");
    if (home.status !== 200) throw new Error(`GET / answered ${home.status}`);
    const look =
      /내 이름: <span class="who my-name tone-(\d+)"><span class="swatch" aria-hidden="true"><\/span><span class="who-name">([^<]+)<\/span>/.exec(
        home.html,
      );
    if (!look) throw new Error("the room list shows no name for the visitor");
    visitor.tone = Number(look[1]);
    visitor.name = look[2];
    return visitor;
  }

  constructor(base) {
    this.base = base;
    /** `gif-chat.sid=...`, as the last response set it. */
    this.cookie = null;
    this.name = null;
    this.tone = null;
    /** The public id (`#chat[data-me]`), known once a room page was seen. */
    this.id = null;
    /** Sockets to close after the test. */
    this.sockets = new Set();
  }

  /**
   * A request as a page of the site would send it (same-origin `Origin` on unsafe methods),
   * without following redirects. Keeps the session cookie up to date.
   */
  async request(method, path, { form, body, headers = {} } = {}) {
    const sent = { ...headers };
    if (this.cookie) sent.cookie = this.cookie;
    if (method !== "GET" && method !== "HEAD") sent.origin = this.base;
    if (form) {
      body = new URLSearchParams(form);
      sent["content-type"] = "application/x-www-form-urlencoded";
    }
    const res = await fetch(this.base + path, {
      method,
      body,
      headers: sent,
      redirect: "manual",
      signal: AbortSignal.timeout(STEP_MS),
    });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(";")[0];
      if (pair.startsWith(`${COOKIE_NAME}=`)) this.cookie = pair;
    }
    return { status: res.status, location: res.headers.get("location"), html: await res.text() };
  }

  get(path) {
    return this.request("GET", path);
  }

  /** The room list, with its one-shot message. */
  async home() {
    const res = await this.get("/");
    return { ...res, flash: flashOf(res.html) };
  }

  /** Creates a room through the form; resolves with its id (the creator is let in). */
  async createRoom({ title, max = "", password = "" }) {
    const res = await this.request("POST", "/room", { form: { title, max, password } });
    const match = /^\/room\/(\d+)$/.exec(res.location ?? "");
    if (res.status !== 303 || !match) {
      throw new Error(`POST /room answered ${res.status} ${res.location}: ${res.html.slice(0, 200)}`);
    }
    return Number(match[1]);
  }

  /** GET /room/:id; on the chat page, learns this visitor's public id. */
  async enter(room) {
    const res = await this.get(`/room/${room}`);
    const me = /<section id="chat"[^>]* data-me="([0-9a-f]+)"/.exec(res.html);
    if (res.status === 200 && me) this.id = me[1];
    return { ...res, chatPage: res.status === 200 && me !== null };
  }

  /** POST /room/:id/password. */
  unlock(room, password) {
    return this.request("POST", `/room/${room}/password`, { form: { password } });
  }

  /**
   * A `/chat` socket (a tab) for `room` with this visitor's cookie, recording what it
   * receives; not awaited. `transports` defaults to websocket only; `reconnection` to off;
   * `after` is the last chat id the tab already shows (the page sends it to catch up).
   */
  chatSocket(room, { transports = ["websocket"], cookie = this.cookie, reconnection = false, after } = {}) {
    const extraHeaders = { origin: this.base };
    if (cookie) extraHeaders.cookie = cookie;
    const socket = io(`${this.base}/chat`, {
      forceNew: true,
      reconnection,
      transports,
      auth: after === undefined ? { room } : { room, after },
      extraHeaders,
    });
    this.sockets.add(socket);
    return new Recorder(socket);
  }

  /** A connected `/chat` socket; rejects with the refusal if the server refuses it. */
  async join(room, opts) {
    const tab = this.chatSocket(room, opts);
    await tab.connected();
    return tab;
  }

  /** The server's refusal of a `/chat` socket (rejects if it connects instead). */
  async refusal(room, opts) {
    const tab = this.chatSocket(room, opts);
    return tab.refusal();
  }

  /** Closes every socket this visitor opened. */
  close() {
    for (const socket of this.sockets) socket.disconnect();
    this.sockets.clear();
  }
}

/** A `/room` (room list) socket, recording what it receives. */
export function lobbySocket(base) {
  const socket = io(`${base}/room`, { forceNew: true, reconnection: false, transports: ["websocket"] });
  return new Recorder(socket);
}

/**
 * Everything a socket receives, in order, as `{name, data}` (the first argument), including
 * `disconnect` (data: the reason) and `connect_error` (data: the message). Waits look at the
 * past as well as the future, so an event that came before the wait began is not missed.
 */
export class Recorder {
  constructor(socket) {
    this.socket = socket;
    this.events = [];
    this.waiters = new Set();
    socket.onAny((name, data) => this.push(name, data));
    socket.on("connect", () => this.push("connect", socket.id));
    socket.on("disconnect", (reason) => this.push("disconnect", reason));
    socket.on("connect_error", (err) => this.push("connect_error", err.message));
  }

  push(name, data) {
    const event = { name, data };
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (waiter.accepts(event)) {
        this.waiters.delete(waiter);
        waiter.resolve(event);
      }
    }
  }

  /** The data of every `name` event so far that `match` accepts. */
  all(name, match = () => true) {
    return this.events.filter((e) => e.name === name && match(e.data)).map((e) => e.data);
  }

  /** The first `name` event (past or future) that `match` accepts; bounded by `ms`. */
  waitFor(name, match = () => true, ms = STEP_MS) {
    return this.first([[name, match]], ms).then(({ data }) => data);
  }

  /**
   * The first event (past or future) that one of `wanted` (`[name, match]` pairs) accepts, as
   * `{name, data}`; rejects after `ms` with what was received.
   */
  first(wanted, ms = STEP_MS) {
    const accepts = (e) => wanted.some(([name, match]) => e.name === name && match(e.data));
    const seen = this.events.find(accepts);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = {
        accepts,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      this.waiters.add(waiter);
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const names = wanted.map(([name]) => `"${name}"`).join(" or ");
        const got = this.events.map((e) => `${e.name} ${JSON.stringify(e.data)}`).join("\n  ");
        reject(new Error(`no matching ${names} within ${ms} ms; received:\n  ${got}`));
      }, ms);
    });
  }

  /** A chat event (`chat` or `whisper`) with this body. */
  waitForChat(body, name = "chat", ms = STEP_MS) {
    return this.waitFor(name, (chat) => chat.body === body, ms);
  }

  /** The participant list, once it is `expected` (earlier lists are skipped). */
  waitForParticipants(expected, ms = STEP_MS) {
    const same = (list) => JSON.stringify(list) === JSON.stringify(expected);
    return this.waitFor("participants", same, ms);
  }

  /** Resolves once connected; rejects with the refusal message otherwise. */
  async connected(ms = STEP_MS) {
    const outcome = await this.first([["connect", ANY], ["connect_error", ANY]], ms);
    if (outcome.name === "connect_error") throw new Error(`refused: ${outcome.data}`);
  }

  /** Resolves with the connect_error message; rejects if the socket connects. */
  async refusal(ms = STEP_MS) {
    const outcome = await this.first([["connect", ANY], ["connect_error", ANY]], ms);
    if (outcome.name === "connect") throw new Error("the socket connected instead of being refused");
    return outcome.data;
  }

  /** Emits with an ack; resolves with the reply (bounded). */
  ask(event, data) {
    return this.socket.timeout(STEP_MS).emitWithAck(event, data);
  }

  disconnect() {
    this.socket.disconnect();
  }
}
