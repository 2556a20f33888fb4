// desktopchat's browser client: joins a room with the desktopchat.v1 protocol, shows text,
// JSON and files, and survives network loss (reconnect with backoff, resume by last id).
// Every message is put on the page with textContent / createElement, never as HTML, so a
// message holding markup shows as text and runs nothing. No inline script: the page's CSP
// forbids it.
"use strict";

// Newest first: the server picks the newest it speaks. v2 presence carries only the change.
const PROTOCOLS = ["desktopchat.v2", "desktopchat.v1"];
const params = new URLSearchParams(location.search);
// The room comes from ?room=NAME (the address the host shows), else the default room.
const room = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(params.get("room") || "") ? params.get("room") : "chat";
// The join link may carry the room's TLS identity after '#': shown so it can be compared
// with the certificate the browser was given (a page cannot read that itself).
const linkFingerprint = new URLSearchParams(location.hash.slice(1)).get("fp");
const storage = {
  get(key) { try { return localStorage.getItem(key); } catch { return null; } },
  set(key, value) { try { localStorage.setItem(key, value); } catch { /* private mode */ } },
};

const $ = (id) => document.getElementById(id);
const ui = {
  title: $("room-title"), state: $("state"), welcome: $("welcome"), nameForm: $("name-form"),
  name: $("name"), room: $("room"), members: $("members"), memberList: $("member-list"),
  membersToggle: $("members-toggle"), messages: $("messages"), composer: $("composer"),
  text: $("text"), json: $("json"), file: $("file"), send: $("send"), status: $("composer-status"),
  dropHint: $("drop-hint"), me: $("me"), older: $("older"),
  tokenRow: $("token-row"), token: $("token"), joinError: $("join-error"), identity: $("identity"),
  transfers: $("transfers"),
};

const session = {
  ws: null, name: null, lastId: null, attempt: 0, timer: null, mode: "text",
  key: storage.get("desktopchat.key") || randomKey(), seen: new Set(), pending: new Map(),
  counter: 0, limits: null, members: [], oldestId: null, olderPage: [],
  token: params.get("token"),
};
// A message the connection died under this many times is given up on, never resent forever.
const MAX_ATTEMPTS = 3;
storage.set("desktopchat.key", session.key);

function randomKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// -- connection ---------------------------------------------------------------------------

function roomUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const path = room === "chat" ? "/chat" : `/chat/${room}`;
  return `${scheme}//${location.host}${path}` + (session.token ? `?token=${encodeURIComponent(session.token)}` : "");
}

const CLOSE_WORDS = {
  1000: "closed normally", 1001: "the server is going away", 1002: "protocol error",
  1006: "connection lost", 1007: "invalid data", 1008: "refused by the server's policy",
  1009: "message too big", 1011: "server error", 1012: "the server is restarting",
  1013: "the server is busy, try again later",
};
const FINAL = new Set([1000, 1002, 1003, 1007, 1008, 1009, 1010]);

// A browser says nothing to a page when a room's certificate changed (the host set the room
// up again): the connection just fails, like a network that is down. After a few tries the
// page says what may be going on; after GIVE_UP_AFTER it stops, with a button to try again.
const UNREACHABLE_HINT_AFTER = 3;
const GIVE_UP_AFTER = 4;
const CONNECT_TIMEOUT = 4;
const UNREACHABLE =
  "Can't reach the room. If the host set it up again, its identity changed and this browser " +
  "refuses it without a word: reload the page to see the browser's warning, and compare the " +
  "identity with the one the host's window shows.";

function stopRetrying() {
  session.attempt = 0;
  setState("closed", "can't reach the room");
  status(UNREACHABLE, true);
  const again = el("button", "retry", "Try again");
  again.type = "button";
  again.addEventListener("click", () => {
    again.closest("li").remove();
    connect();
  });
  const item = el("li", "message system", "Stopped trying to reconnect. ");
  item.append(again);
  append(item);
}

function describeClose(event) {
  const words = CLOSE_WORDS[event.code] || "closed";
  return `${words} (${event.code})${event.reason ? ": " + event.reason : ""}`;
}

function setState(state, text) {
  ui.state.dataset.state = state;
  ui.state.textContent = text || state;
}

function connect() {
  clearTimeout(session.timer);
  setState(session.attempt ? "reconnecting" : "connecting", session.attempt ? "reconnecting…" : "connecting…");
  const ws = new WebSocket(roomUrl(), PROTOCOLS);
  ws.binaryType = "arraybuffer";
  session.ws = ws;
  // After failures a browser may hold a new connection back for a long time without a
  // word: an attempt not open within CONNECT_TIMEOUT counts as failed.
  setTimeout(() => {
    if (session.ws !== ws || ws.readyState !== WebSocket.CONNECTING) return;
    session.ws = null;
    ws.onclose = null;
    ws.close();
    retryLater();
  }, CONNECT_TIMEOUT * 1000);
  ws.onopen = () => {
    const hello = { type: "hello", name: session.name, key: session.key };
    if (session.lastId !== null) hello.resume = session.lastId;
    ws.send(JSON.stringify(hello));
  };
  ws.onmessage = (event) => {
    try {
      if (typeof event.data === "string") handle(JSON.parse(event.data));
      else handle(decodeBinary(event.data));
    } catch (error) {
      console.warn("ignored a frame the page could not read", error);
    }
  };
  ws.onclose = (event) => {
    if (session.ws !== ws) return;
    session.ws = null;
    if (event.code === 1008 && event.reason === "invalid token") {
      askForToken(session.token ? "That token was not accepted: check it with the host." : "This room needs a token: ask its host.");
      return;
    }
    if (FINAL.has(event.code)) {
      setState("closed", describeClose(event));
      system(`Disconnected: ${describeClose(event)}`);
      return;
    }
    retryLater();
  };
}

function retryLater() {
  session.attempt += 1;
  if (session.attempt > GIVE_UP_AFTER) {
    stopRetrying();
    return;
  }
  const ceiling = Math.min(30, 0.5 * 2 ** (session.attempt - 1));
  const delay = ceiling / 2 + Math.random() * ceiling / 2;
  setState("reconnecting", `reconnecting in ${delay.toFixed(1)} s`);
  if (session.attempt === UNREACHABLE_HINT_AFTER) status(UNREACHABLE, true);
  session.timer = setTimeout(connect, delay * 1000);
}

function send(frame) {
  if (session.ws && session.ws.readyState === WebSocket.OPEN) session.ws.send(frame);
}

// -- incoming -----------------------------------------------------------------------------

function decodeBinary(buffer) {
  const view = new DataView(buffer);
  const length = view.getUint32(0);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  header.payload = new Uint8Array(buffer, 4 + length);
  return header;
}

function handle(event) {
  switch (event.type) {
    case "welcome":
      session.name = event.name;
      session.attempt = 0;
      if (ui.status.textContent === UNREACHABLE) status("");
      if (session.lastId === null || event.reset) {
        // New here, or our position is beyond this room's history: the backlog is all new.
        if (event.reset) system("The room's history started over: messages from before are not in it.");
        session.lastId = 0;
        session.oldestId = null;
        session.seen.clear();
      } else if (event.last_id < session.lastId) session.lastId = event.last_id;
      if (event.gap) system("Some messages sent while you were away are no longer in the room's history.");
      ui.title.textContent = `#${event.room}`;
      setState("open", "open");
      ui.me.textContent = `You are ${event.name}`;
      session.host = event.host || null;
      session.members = event.members;
      showMembers(session.members);
      session.limits = event.limits || null;
      for (const [cid, own] of session.pending) {
        if (own.attempts >= MAX_ATTEMPTS) {
          giveUp(cid, `the connection was lost each of the ${MAX_ATTEMPTS} times it was sent`);
        } else {
          transmit(own);
        }
      }
      break;
    case "text": case "json": case "binary":
      if (event.page) { session.olderPage.push(event); return; }
      if (session.oldestId === null || event.id < session.oldestId) session.oldestId = event.id;
      if (event.id <= session.lastId || session.seen.has(event.id)) return;
      session.lastId = event.id;
      session.seen.add(event.id);
      if (!settleOwn(event)) addMessage(event);
      break;
    case "direct": {
      // Said to one member: shown marked, never counted as the room's (its id is the pair's).
      if (event.page) return;
      const said = { ...event, type: "text" in event ? "text" : "json" };
      const item = addMessage(said).element;
      item.classList.add("direct");
      const to = event.to === session.name ? "you" : event.to;
      item.querySelector(".sender").textContent = `${event.sender} → ${to} (direct)`;
      break;
    }
    case "page_end":
      if (event.with) break;  // a direct conversation's page: the page asks for none
      showOlder(session.olderPage, event.more);
      session.olderPage = [];
      break;
    case "ack": {
      const own = session.pending.get(event.cid);
      if (own) {
        own.element.classList.remove("pending");
        own.mark.textContent = "✓";
        own.id = event.id;
        session.pending.delete(event.cid);
        // A direct message of ours never comes back: nothing to match it with.
        if (!own.direct) session.acked.set(event.id, own);
      }
      break;
    }
    case "presence":
      if (Array.isArray(event.members)) session.members = event.members;
      else if (event.event === "join") session.members = [...session.members, event.name];
      else session.members = session.members.filter((name) => name !== event.name);
      showMembers(session.members);
      system(`${event.name} ${event.event === "join" ? "joined" : "left"}`);
      break;
    case "error":
      status(`The room refused a message: ${event.message}`, true);
      if (event.cid && session.pending.has(event.cid)) giveUp(event.cid, event.message);
      break;
  }
}
session.acked = new Map();

// Our own messages are shown as pending when sent; the relayed copy only confirms them.
function settleOwn(event) {
  const own = session.acked.get(event.id);
  if (!own) return false;
  session.acked.delete(event.id);
  // Shown where and when the server put it, not where and when it was typed.
  setTime(own.time, event.time);
  own.element.remove();
  append(own.element);
  return true;
}

// -- rendering: createElement + textContent only -------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Times and dates as the reader's locale writes them (12- or 24-hour, day names, order).
function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

function setTime(node, ms) {
  node.textContent = clock(ms);
  node.title = new Date(ms).toLocaleString([], { dateStyle: "full", timeStyle: "medium" });
}

function dayOf(ms) {
  const date = new Date(ms);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

function dayLabel(ms) {
  const day = dayOf(ms);
  if (day === dayOf(Date.now())) return "Today";
  if (day === dayOf(Date.now() - 86400000)) return "Yesterday";
  return new Date(ms).toLocaleDateString([], { dateStyle: "full" });
}

// A line with the day above the first message of each day, wherever messages were added.
function separateDays() {
  for (const line of ui.messages.querySelectorAll("li.day")) line.remove();
  let last = null;
  for (const item of ui.messages.querySelectorAll("li.message[data-time]")) {
    const ms = Number(item.dataset.time);
    if (dayOf(ms) !== last) item.before(el("li", "day", dayLabel(ms)));
    last = dayOf(ms);
  }
}

// Links open in a new tab; only web and mail addresses become links, never other schemes.
const LINK = /\b(?:https?:\/\/|mailto:|www\.)[^\s<>"'`]+/gi;

// Punctuation that ends the sentence is not part of the link, nor an unbalanced bracket.
function trimLink(raw) {
  let link = raw;
  const count = (char) => link.split(char).length - 1;
  while (/[.,;:!?)\]]$/.test(link)) {
    const last = link.slice(-1);
    if (last === ")" && count("(") >= count(")")) break;
    if (last === "]" && count("[") >= count("]")) break;
    link = link.slice(0, -1);
  }
  return link;
}

// Bidi controls (RLO, LRI …) and invisible marks reorder or hide what a link shows: "evil
// \u202Egro.elpmaxe" reads as a harmless address. Inside a link they are shown as codes.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

function visibleLink(text) {
  return text.replace(BIDI, (char) => `<U+${char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}>`);
}

function linked(text) {
  const node = el("div", "body");
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    const shown = trimLink(match[0]);
    node.append(text.slice(at, match.index));
    const link = el("a", null, visibleLink(shown));
    link.href = shown.toLowerCase().startsWith("www.") ? `https://${shown}` : shown;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    node.append(link);
    at = match.index + shown.length;
  }
  node.append(text.slice(at));
  return node;
}

function mentionsMe(text) {
  if (!session.name) return false;
  const name = session.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(^|[^\\w@])@${name}(?![\\w-])`, "i").test(text);
}

function humanSize(size) {
  if (size < 1024) return `${size} bytes`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  if (size < 1024 ** 3) return `${(size / 1024 / 1024).toFixed(1)} MiB`;
  return `${(size / 1024 ** 3).toFixed(1)} GiB`;
}

function nearBottom() {
  const list = ui.messages;
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

function append(node) {
  const follow = nearBottom();
  if (node.dataset.time) {
    let previous = ui.messages.lastElementChild;
    while (previous && !previous.dataset.time) previous = previous.previousElementSibling;
    const ms = Number(node.dataset.time);
    if (!previous || dayOf(Number(previous.dataset.time)) !== dayOf(ms)) {
      ui.messages.appendChild(el("li", "day", dayLabel(ms)));
    }
  }
  ui.messages.appendChild(node);
  if (!follow) return;
  ui.messages.scrollTop = ui.messages.scrollHeight;
  // A picture grows the list when it has loaded; stay at the bottom then too.
  for (const image of node.querySelectorAll("img")) {
    image.addEventListener("load", () => { ui.messages.scrollTop = ui.messages.scrollHeight; });
  }
}

// Older messages go above everything, keeping the reader's place in the list.
function showOlder(events, more) {
  const anchor = ui.older.parentElement.nextSibling;
  const before = ui.messages.scrollHeight;
  for (const event of events) {
    const item = addMessage(event).element;
    ui.messages.insertBefore(item, anchor);
    session.oldestId = Math.min(session.oldestId ?? event.id, event.id);
  }
  separateDays();
  ui.messages.scrollTop += ui.messages.scrollHeight - before;
  ui.older.disabled = !more;
  ui.older.textContent = more ? "Load older messages" : "No older messages";
}

function system(text) {
  append(el("li", "message system", text));
}

// A file offered beside the room (docs/protocol.md, "Files"): exactly {"file": {…}} with a
// host-made id, a whole size and a SHA-256; anything else is just JSON.
function offerOf(data) {
  if (!data || typeof data !== "object" || Array.isArray(data)) return null;
  const keys = Object.keys(data);
  const file = data.file;
  if (keys.length !== 1 || keys[0] !== "file" || !file || typeof file !== "object") return null;
  const fine = typeof file.id === "string" && /^[A-Za-z0-9_-]{8,64}$/.test(file.id)
    && Number.isSafeInteger(file.size) && file.size >= 0 && typeof file.name === "string"
    && typeof file.sha256 === "string" && /^[0-9a-f]{64}$/.test(file.sha256);
  return fine ? file : null;
}

// The bytes come from the host, through the browser's own download manager (which resumes).
function offered(file) {
  const box = el("div", "file offer");
  const query = session.token ? `?token=${encodeURIComponent(session.token)}` : "";
  const link = el("a", null, `${file.name || "file"} · ${humanSize(file.size)}`);
  link.href = `/files/${encodeURIComponent(room)}/${encodeURIComponent(file.id)}${query}`;
  link.download = file.name || "file";
  link.title = `SHA-256 ${file.sha256}`;
  box.appendChild(link);
  return box;
}

function body(event) {
  if (event.type === "text") return linked(event.text);
  if (event.type === "json" && offerOf(event.data)) return offered(offerOf(event.data));
  if (event.type === "json") {
    const details = el("details");
    details.appendChild(el("summary", null, JSON.stringify(event.data)));
    details.appendChild(el("pre", null, JSON.stringify(event.data, null, 2)));
    details.open = JSON.stringify(event.data).length < 200;
    return details;
  }
  const box = el("div", "file");
  const blob = new Blob([event.payload], { type: event.mime || "application/octet-stream" });
  const url = URL.createObjectURL(blob);
  const link = el("a", null, `${event.name || "download"} · ${humanSize(event.payload.length)}`);
  link.href = url;
  link.download = event.name || "download";
  box.appendChild(link);
  if ((event.mime || "").startsWith("image/")) {
    const image = el("img");
    image.alt = event.name || "image";
    image.src = url;
    box.appendChild(image);
  }
  return box;
}

function addMessage(event, pending) {
  const item = el("li", "message" + (pending ? " pending" : ""));
  item.dataset.time = event.time;
  if (event.type === "text" && event.sender !== session.name && mentionsMe(event.text)) {
    item.classList.add("mention");
  }
  const meta = el("div", "meta");
  meta.appendChild(el("span", "sender", event.sender));
  const time = el("span", "time");
  setTime(time, event.time);
  meta.appendChild(time);
  const mark = el("span", "mark", pending ? "sending…" : "");
  meta.appendChild(mark);
  item.appendChild(meta);
  item.appendChild(body(event));
  append(item);
  return { element: item, mark, time };
}

function showMembers(members) {
  const marked = (name) => {
    const marks = [name === session.name && "you", name === session.host && "host"].filter(Boolean);
    const item = el("li", name === session.name ? "me" : null, name);
    if (marks.length) item.appendChild(el("span", "marks", ` (${marks.join(", ")})`));
    if (name !== session.name) {
      // A click starts a direct message to them in the box.
      item.title = `Say something to ${name} alone`;
      item.classList.add("reachable");
      item.addEventListener("click", () => {
        setMode("text");
        ui.text.value = `/msg ${name} `;
        ui.text.focus();
      });
    }
    return item;
  };
  ui.memberList.replaceChildren(...members.map(marked));
  ui.membersToggle.textContent = `Members (${members.length})`;
}

function status(text, error) {
  ui.status.textContent = text;
  ui.status.classList.toggle("error", Boolean(error));
}

// -- sending ------------------------------------------------------------------------------

function nextCid() {
  session.counter += 1;
  return `${session.key.slice(0, 8)}-${Date.now().toString(36)}-${session.counter}`;
}

function giveUp(cid, reason) {
  const own = session.pending.get(cid);
  session.pending.delete(cid);
  own.mark.textContent = "not sent";
  own.mark.title = reason;
  own.element.classList.add("failed");
  status(`Not sent: ${reason}`, true);
}

function transmit(own) {
  if (session.ws && session.ws.readyState === WebSocket.OPEN) {
    own.attempts += 1;
    send(own.wire);
  }
}

function frameBytes(wire) {
  return typeof wire === "string" ? new TextEncoder().encode(wire).length : wire.byteLength;
}

// Refuses, before anything is shown or sent, a message bigger than the room takes: the
// server would close the connection (1009) and the message would be lost anyway.
function fits(wire, what) {
  return fitsSize(frameBytes(wire), what);
}

function fitsSize(size, what) {
  const limit = session.limits && session.limits.max_message_bytes;
  if (limit && size > limit) {
    status(`Not sent — ${what} is ${humanSize(size)}, over this room's limit of ${humanSize(limit)}`, true);
    return false;
  }
  return true;
}

// As many of our messages as may wait for the room at once (the app's outbox holds as
// many): past it, what is typed stays in the box until the room has taken earlier ones,
// so nothing is dropped and nothing piles up without bound.
const MAX_PENDING = 1000;

function sendOwn(event, wire, cid, what) {
  if (!fits(wire, what)) return false;
  if (session.pending.size >= MAX_PENDING) {
    status(`Waiting — the room has not yet taken your last ${MAX_PENDING} messages; this one stays in the box`, true);
    return false;
  }
  const own = addMessage({ ...event, sender: session.name || "you", time: Date.now() }, true);
  own.wire = wire;
  own.attempts = 0;
  session.pending.set(cid, own);
  transmit(own);
  return true;
}

function sendText(text) {
  const cid = nextCid();
  const direct = /^\/msg\s+(\S+)\s+([\s\S]+)$/.exec(text);
  if (direct) {
    const [, to, said] = direct;
    const wire = JSON.stringify({ type: "direct", to, text: said, cid });
    if (!sendOwn({ type: "text", text: said }, wire, cid, "this message")) return false;
    const own = session.pending.get(cid);
    own.direct = true;
    own.element.classList.add("direct");
    own.element.querySelector(".sender").textContent = `you → ${to} (direct)`;
    return true;
  }
  if (/^\/msg\b/.test(text)) {
    status("/msg NAME TEXT says TEXT to NAME alone", true);
    return false;
  }
  return sendOwn({ type: "text", text }, JSON.stringify({ type: "text", text, cid }), cid, "this message");
}

function sendJson(source) {
  let data;
  try {
    data = JSON.parse(source);
  } catch (error) {
    status(`Not sent — invalid JSON: ${error.message}`, true);
    return false;
  }
  const cid = nextCid();
  return sendOwn({ type: "json", data }, JSON.stringify({ type: "json", data, cid }), cid, "this JSON");
}

// A file goes up beside the room over HTTP (docs/protocol.md, "Files"), in slices read from
// the disk as they go (never the whole file in memory), then is offered in the room. The
// page cannot hash a file of gigabytes before sending it (WebCrypto digests whole buffers
// only), so it announces the file with a resume key and the host hashes it. The key is this
// browser's secret plus the file's name, size and time: picking the same file after a
// reload finds the upload begun, and a file changed since has another key (never spliced).
const SLICE = 8 * 1024 * 1024;
const UPLOAD_ATTEMPTS = 8;
const uploadSecret = storage.get("desktopchat.uploadSecret") || randomKey();
storage.set("desktopchat.uploadSecret", uploadSecret);

function fileKey(file) {
  // FNV-1a, twice with other seeds: a name for the file, not a secret (the secret is above).
  const text = `${file.name}\u0000${file.size}\u0000${file.lastModified}`;
  const parts = [0x811c9dc5, 0x01000193, 0x12345678].map((seed) => {
    let hash = seed >>> 0;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return hash.toString(16).padStart(8, "0");
  });
  return `${uploadSecret}-${parts.join("")}`;
}

function filesUrl(id) {
  const base = `/files/${encodeURIComponent(room)}`;
  return id ? `${base}/${encodeURIComponent(id)}` : base;
}

function request(method, url, headers, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    if (session.token) xhr.setRequestHeader("Authorization", `Bearer ${session.token}`);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(new Error("the connection to the host was lost"));
    xhr.send(body === undefined ? null : body);
  });
}

const unfinished = {
  all() { try { return JSON.parse(storage.get("desktopchat.uploads") || "{}"); } catch { return {}; } },
  set(key, value) {
    const all = this.all();
    if (value) all[key] = value; else delete all[key];
    storage.set("desktopchat.uploads", JSON.stringify(all));
  },
};

function transferRow(name, size) {
  const row = el("li", "transfer");
  const label = el("span", "transfer-name", `↑ ${name}`);
  const bar = el("progress");
  bar.max = Math.max(1, size);
  bar.value = 0;
  const words = el("span", "transfer-status", "starting");
  row.append(label, bar, words);
  ui.transfers.append(row);
  ui.transfers.hidden = false;
  return {
    show(done, speed) {
      bar.value = done;
      const rate = speed > 0 ? ` · ${humanSize(speed)}/s` : "";
      const left = speed > 0 ? ` · ${Math.max(1, Math.round((size - done) / speed))} s left` : "";
      words.textContent = `${humanSize(done)} of ${humanSize(size)}${rate}${left}`;
    },
    end(text, failed) {
      words.textContent = text;
      row.classList.toggle("error", Boolean(failed));
      bar.hidden = true;
      if (!failed) setTimeout(() => { row.remove(); ui.transfers.hidden = !ui.transfers.children.length; }, 4000);
    },
  };
}

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

async function announceFile(file, key) {
  const body = JSON.stringify({ name: file.name, size: file.size, sha256: null, key,
    mime: file.type || "application/octet-stream" });
  const answer = await request("POST", filesUrl(), { "Content-Type": "application/json" }, body);
  if (answer.status === 404 || answer.status === 405) return null; // a host without files
  if (answer.status !== 201) throw new Error(answer.responseText.trim() || `refused (${answer.status})`);
  return JSON.parse(answer.responseText);
}

async function uploadRest(file, created, row) {
  let offset = created.offset;
  let failures = 0;
  const started = { time: performance.now(), bytes: offset };
  while (true) {
    if (offset >= file.size) {
      const head = await request("HEAD", filesUrl(created.id), {});
      if (head.status === 200 && head.getResponseHeader("Upload-Offset") === String(file.size)) {
        return created.sha256 || null;
      }
    }
    try {
      const end = Math.min(file.size, offset + SLICE);
      const answer = await request("PATCH", filesUrl(created.id), {
        "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset),
      }, file.slice(offset, end), (loaded) => {
        const seconds = (performance.now() - started.time) / 1000;
        row.show(offset + loaded, seconds > 0.5 ? (offset + loaded - started.bytes) / seconds : 0);
      });
      const told = Number(answer.getResponseHeader("Upload-Offset"));
      if (answer.status === 204) {
        offset = told;
        failures = 0;
        unfinished.set(created.key, { name: file.name, size: file.size, done: offset, room });
        if (answer.getResponseHeader("Upload-Complete") === "true") {
          return answer.getResponseHeader("X-Content-SHA256");
        }
      } else if (answer.status === 409 && Number.isSafeInteger(told)) {
        offset = told; // the host has another offset: go on from there
      } else {
        throw Object.assign(new Error(answer.responseText.trim() || `refused (${answer.status})`), { final: true });
      }
    } catch (error) {
      if (error.final || ++failures > UPLOAD_ATTEMPTS) throw error;
      row.show(offset, 0);
      await sleep(Math.min(500 * 2 ** (failures - 1), 10000));
      const head = await request("HEAD", filesUrl(created.id), {}).catch(() => null);
      const have = head && head.status === 200 ? Number(head.getResponseHeader("Upload-Offset")) : NaN;
      if (Number.isSafeInteger(have)) offset = have;
    }
  }
}

async function sendFile(file) {
  const key = fileKey(file);
  const row = transferRow(file.name, file.size);
  try {
    const created = await announceFile(file, key);
    if (created === null) { row.end("sent as one message"); return sendWhole(file); }
    created.key = key;
    // Remembered before the first slice: a reload during it must still remind the user.
    unfinished.set(key, { name: file.name, size: file.size, done: created.offset, room });
    if (created.offset > 0) status(`Continuing ${file.name} from ${humanSize(created.offset)}`);
    const sha256 = await uploadRest(file, created, row);
    unfinished.set(key, null);
    const offer = { id: created.id, name: created.name, size: file.size, sha256,
      mime: created.mime || "application/octet-stream" };
    const cid = nextCid();
    sendOwn({ type: "json", data: { file: offer } }, JSON.stringify({ type: "json", data: { file: offer }, cid }), cid, file.name);
    row.end(`sent ${humanSize(file.size)}`);
  } catch (error) {
    row.end(`not sent: ${error.message} (pick the file again to continue)`, true);
  }
}

// A host that takes no files beside the room (an older desktopchat) gets one message.
async function sendWhole(file) {
  // Checked before reading: the browser would hold a huge file in memory for nothing.
  if (!fitsSize(file.size, file.name)) return;
  const payload = new Uint8Array(await file.arrayBuffer());
  const cid = nextCid();
  const header = new TextEncoder().encode(
    JSON.stringify({ type: "binary", name: file.name, mime: file.type || "application/octet-stream", cid }));
  const frame = new Uint8Array(4 + header.length + payload.length);
  new DataView(frame.buffer).setUint32(0, header.length);
  frame.set(header, 4);
  frame.set(payload, 4 + header.length);
  sendOwn({ type: "binary", name: file.name, mime: file.type, payload }, frame.buffer, cid, file.name);
}

// After a reload: say which uploads stopped, so the user can pick those files again.
function remindUnfinished() {
  for (const [key, upload] of Object.entries(unfinished.all())) {
    if (upload.room !== room || !key.startsWith(uploadSecret)) continue;
    const row = transferRow(upload.name, upload.size);
    row.end(`stopped at ${humanSize(upload.done)} of ${humanSize(upload.size)}: pick or drop it again to continue`, true);
  }
}

function setMode(mode) {
  session.mode = mode;
  for (const tab of document.querySelectorAll(".tab[data-mode]")) {
    tab.classList.toggle("active", tab.dataset.mode === mode);
  }
  ui.text.hidden = mode !== "text";
  ui.json.hidden = mode !== "json";
  (mode === "text" ? ui.text : ui.json).focus();
  status(mode === "json" ? "Ctrl+Enter sends" : "");
}

// -- wiring -------------------------------------------------------------------------------

// A refused token is a question, not a dead end: the join form comes back with a field.
function askForToken(message) {
  session.attempt = 0;
  setState("closed", "a token is needed");
  ui.room.hidden = true;
  ui.welcome.hidden = false;
  ui.tokenRow.hidden = false;
  ui.joinError.textContent = message;
  ui.joinError.hidden = false;
  ui.token.value = "";
  ui.token.focus();
}

ui.nameForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.name.value.trim();
  if (!name) return;
  if (!ui.tokenRow.hidden) session.token = ui.token.value.trim() || null;
  ui.joinError.hidden = true;
  storage.set("desktopchat.name", name);
  session.name = name;
  ui.welcome.hidden = true;
  ui.room.hidden = false;
  ui.text.focus();
  connect();
  remindUnfinished();
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  if (session.mode === "json") {
    if (ui.json.value.trim() && sendJson(ui.json.value)) {
      ui.json.value = "";
      status("Ctrl+Enter sends");
    }
  } else if (ui.text.value && sendText(ui.text.value)) {
    ui.text.value = "";
    fitText();
  }
});

// Enter sends, Shift+Enter starts a new line; the box grows with its text up to six lines.
ui.text.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});
function fitText() {
  ui.text.rows = Math.min(6, Math.max(1, ui.text.value.split("\n").length));
}
ui.text.addEventListener("input", fitText);

ui.json.addEventListener("input", () => {
  if (!ui.json.value.trim()) { status("Ctrl+Enter sends"); return; }
  try { JSON.parse(ui.json.value); status("Valid JSON — Ctrl+Enter sends"); }
  catch (error) { status(`Invalid JSON: ${error.message}`, true); }
});
ui.json.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) ui.composer.requestSubmit();
});
for (const tab of document.querySelectorAll(".tab[data-mode]")) {
  tab.addEventListener("click", () => setMode(tab.dataset.mode));
}
ui.file.addEventListener("change", () => {
  for (const file of ui.file.files) sendFile(file);
  ui.file.value = "";
});
ui.membersToggle.addEventListener("click", () => ui.members.classList.toggle("open"));
ui.older.addEventListener("click", () => {
  if (session.oldestId === null || session.oldestId <= 1) { showOlder([], false); return; }
  ui.older.disabled = true;
  ui.older.textContent = "Loading…";
  send(JSON.stringify({ type: "history", before: session.oldestId, limit: 100 }));
});

const conversation = document.querySelector(".conversation");
conversation.addEventListener("dragover", (event) => { event.preventDefault(); ui.dropHint.hidden = false; });
conversation.addEventListener("dragleave", () => { ui.dropHint.hidden = true; });
conversation.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.dropHint.hidden = true;
  for (const file of event.dataTransfer.files) sendFile(file);
});

ui.title.textContent = `#${room}`;
if (linkFingerprint) {
  const digits = linkFingerprint.replace(/^sha256:/i, "").toUpperCase().match(/.{1,4}/g) || [];
  ui.identity.textContent = `The link gives this room's identity as SHA256 ${digits.join(" ")}`;
  ui.identity.hidden = false;
}
ui.name.value = storage.get("desktopchat.name") || "";
if (ui.name.value) ui.name.select();
ui.name.focus();
