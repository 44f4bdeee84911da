// confsvc console: rooms and their callers, live from the tenant's WebSocket event
// stream (GET /v1/ws, "conference:*"), with the API's controls as buttons. No build step,
// nothing fetched from anywhere but this controller. The token stays in sessionStorage
// (or comes as #token=... in the URL, then is removed from the address bar).
"use strict";

const LIVE_CONF = new Set(["starting", "progressing", "terminating"]);
const state = { confs: new Map(), calls: new Map(), recs: new Map() };
let token = "";
let drawQueued = false;

function readToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("confsvc-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("confsvc-token") || "";
}

function showError(text) {
  const el = document.getElementById("error");
  el.textContent = text;
  el.hidden = !text;
}

async function api(method, path, body) {
  const init = { method, headers: { Authorization: "Bearer " + token } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const data = r.status === 204 ? {} : await r.json().catch(() => ({}));
  if (!r.ok) {
    showError(`${method} ${path}: ${data.message || r.status}`);
    throw new Error(data.error || String(r.status));
  }
  showError("");
  return data;
}

async function all(path) {
  const out = [];
  let pageToken = "";
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const q = pageToken ? `${sep}page_token=${encodeURIComponent(pageToken)}` : "";
    const page = await api("GET", path + q);
    out.push(...page.result);
    pageToken = page.next_page_token;
    if (!pageToken) return out;
  }
}

// A resource from the API or an event: kept unless we already hold a newer one.
function keep(map, item) {
  const old = map.get(item.id);
  if (old && old.tm_update && item.tm_update && old.tm_update > item.tm_update) return;
  map.set(item.id, item);
}

function apply(event) {
  const data = event.data || {};
  if (event.type.startsWith("conferencecall_") && data.id) keep(state.calls, data);
  else if (event.type.startsWith("conference_") && data.id) keep(state.confs, data);
  else if (event.type.startsWith("recording_") && data.id) keep(state.recs, data);
  draw();
}

async function load() {
  for (const status of ["starting", "progressing", "terminating"]) {
    for (const c of await all(`/v1/conferences?status=${status}`)) keep(state.confs, c);
  }
  for (const conf of state.confs.values()) {
    for (const call of await all(`/v1/conferencecalls?conference_id=${conf.id}`)) {
      keep(state.calls, call);
    }
    for (const rec of await all(`/v1/recordings?conference_id=${conf.id}`)) keep(state.recs, rec);
  }
  draw();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/v1/ws?token=${encodeURIComponent(token)}`);
  const link = document.getElementById("link");
  ws.onopen = () => ws.send(JSON.stringify({ type: "subscribe", topics: ["conference:*"] }));
  ws.onmessage = (msg) => {
    const m = JSON.parse(msg.data);
    if (m.type === "subscribed") {
      link.textContent = "live";
      link.className = "link up";
      load().catch(() => {}); // after subscribing: nothing falls between the two
    } else if (m.type === "event") apply(m.event);
    else if (m.type === "error") showError(m.message);
  };
  ws.onclose = () => {
    link.textContent = "offline";
    link.className = "link down";
    setTimeout(connect, 1000);
  };
}

function button(label, cls, onClick) {
  const b = document.createElement("button");
  b.textContent = label;
  b.className = cls;
  b.addEventListener("click", () => onClick().catch(() => {}));
  return b;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function callRow(call) {
  const tr = el("tr", undefined, call.talking ? "talking" : "");
  tr.dataset.call = call.id;
  tr.dataset.caller = call.caller.number || call.caller.name;
  const dot = el("td");
  dot.append(el("span", undefined, "dot"));
  dot.title = call.talking ? "talking" : "";
  tr.append(dot, el("td", call.caller.name || call.caller.number), el("td", call.status, "status"));
  tr.append(el("td", call.muted ? "muted" : "", "muted"), el("td", call.deaf ? "deaf" : "", "deaf"));
  const acts = el("td");
  const path = `/v1/conferencecalls/${call.id}`;
  acts.append(
    button(call.muted ? "Unmute" : "Mute", "mute", () => api(call.muted ? "DELETE" : "POST", path + "/mute")),
    button(call.deaf ? "Undeaf" : "Deaf", "deaf", () => api(call.deaf ? "DELETE" : "POST", path + "/deaf")),
    button("Kick", "kick", () => api("DELETE", path)),
  );
  tr.append(acts);
  return tr;
}

async function play(rec, audio) {
  const r = await fetch(rec.download_url, { headers: { Authorization: "Bearer " + token } });
  if (!r.ok) return showError(`recording ${rec.id}: ${r.status}`);
  audio.src = URL.createObjectURL(await r.blob());
  audio.hidden = false;
  await audio.play().catch(() => {});
}

function roomCard(conf) {
  const sec = el("section", undefined, "room");
  sec.dataset.conference = conf.id;
  sec.dataset.room = conf.room;
  const h = el("h2", conf.name || conf.room);
  h.append(el("span", conf.status, "badge status"));
  if (conf.recording_id) h.append(el("span", "● recording", "badge rec"));
  sec.append(h);
  const calls = [...state.calls.values()].filter(
    (c) => c.conference_id === conf.id && c.status !== "leaved",
  );
  const table = el("table");
  const head = el("tr");
  for (const t of ["", "caller", "status", "", "", ""]) head.append(el("th", t));
  table.append(head, ...calls.map(callRow));
  sec.append(calls.length ? table : el("p", "Nobody here yet. Dial " + conf.dial_uri, "empty"));
  const base = `/v1/conferences/${conf.id}`;
  const acts = el("div", undefined, "actions");
  acts.append(
    conf.recording_id
      ? button("Stop recording", "record-stop", () => api("POST", base + "/recording_stop"))
      : button("Start recording", "record-start", () => api("POST", base + "/recording_start")),
    button("End room", "end", () => api("DELETE", base)),
  );
  sec.append(acts);
  const done = [...state.recs.values()].filter(
    (r) => r.conference_id === conf.id && r.download_url,
  );
  if (done.length) {
    const list = el("div", "Recordings: ", "recordings");
    const audio = el("audio");
    audio.controls = true;
    audio.hidden = true;
    for (const rec of done) {
      const a = el("a", `${rec.format} ${Math.round((rec.duration_ms || 0) / 1000)} s`, "recording");
      a.href = "#";
      a.dataset.recording = rec.id;
      a.addEventListener("click", (e) => { e.preventDefault(); play(rec, audio); });
      list.append(a, " ");
    }
    list.append(audio);
    sec.append(list);
  }
  return sec;
}

function draw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    const main = document.getElementById("rooms");
    const live = [...state.confs.values()]
      .filter((c) => LIVE_CONF.has(c.status))
      .sort((a, b) => (a.tm_create < b.tm_create ? -1 : 1));
    main.replaceChildren(...(live.length ? live.map(roomCard) : [el("p", "No live rooms.", "empty")]));
  });
}

function start() {
  token = readToken();
  const login = document.getElementById("login");
  if (!token) {
    login.hidden = false;
    login.addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem("confsvc-token", document.getElementById("token").value.trim());
      location.reload();
    });
    return;
  }
  document.getElementById("create").addEventListener("submit", (e) => {
    e.preventDefault();
    const room = document.getElementById("room").value.trim();
    const name = document.getElementById("name").value.trim() || room;
    const floor_events = document.getElementById("floor").checked;
    api("POST", "/v1/conferences", { type: "conference", room, name, floor_events })
      .then((conf) => { keep(state.confs, conf); draw(); e.target.reset(); })
      .catch(() => {});
  });
  connect();
}

start();
