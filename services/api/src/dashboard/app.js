// The operators' dashboard: polls the admin endpoints with the admin token kept in localStorage. No dependencies.

const TOKEN_KEY = "bump.admin.token";
const POLL_MS = Number(new URLSearchParams(location.search).get("poll_ms")) || 1000;
const WINDOW_S = Number(new URLSearchParams(location.search).get("window_s")) || 60;
// Served at /dashboard, or under a prefix such as /api/dashboard behind the proxy.
const BASE = location.pathname.replace(/\/dashboard\/?$/, "");

const $ = (id) => document.getElementById(id);
const fmt = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "–");
let token = localStorage.getItem(TOKEN_KEY) || "";
let timer = 0;

/** Builds an element; children are nodes or text (always set as text, never parsed as HTML). */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : String(c));
  return node;
}

class HttpFailure extends Error {
  constructor(status, message) {
    super(message);
    this.name = "HttpFailure";
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new HttpFailure(res.status, json?.error?.message || `HTTP ${res.status}`);
  return json;
}

function setStatus(text, error) {
  const s = $("status");
  s.textContent = text;
  s.className = error ? "error" : "";
}

function renderStreams(streams) {
  const body = $("streams").tBodies[0];
  const rows = streams.map((s) => {
    const groups = el("div", { class: "groups" });
    if (s.groups.length === 0) groups.append(el("span", { class: "empty" }, "no groups"));
    for (const g of s.groups) {
      const lagging = g.lag > 0 || g.pending > 0;
      groups.append(
        el(
          "div",
          { class: lagging ? "lagging" : "", "data-group": g.name },
          `${g.name}: ${g.consumers} / ${fmt(g.pending)} / ${g.lag === null ? "?" : fmt(g.lag)}`,
        ),
      );
    }
    const replay = el(
      "button",
      {
        "data-replay": s.name,
        disabled: s.dlq_length === 0,
        onclick: () => replayDeadLetters(s.name, replay),
      },
      "Replay",
    );
    return el(
      "tr",
      { "data-stream": s.name },
      el("td", {}, s.name),
      el("td", { class: "n length" }, fmt(s.length)),
      el("td", {}, groups),
      el("td", { class: `n dlq${s.dlq_length > 0 ? " bad" : ""}` }, fmt(s.dlq_length)),
      el("td", {}, replay),
    );
  });
  body.replaceChildren(...rows);
  const sum = (f) => streams.reduce((a, s) => a + f(s), 0);
  $("t-entries").textContent = fmt(sum((s) => s.length));
  $("t-dead").textContent = fmt(sum((s) => s.dlq_length));
  $("t-lag").textContent = fmt(sum((s) => s.groups.reduce((a, g) => a + (g.lag || 0), 0)));
  $("t-pending").textContent = fmt(sum((s) => s.groups.reduce((a, g) => a + g.pending, 0)));
}

async function replayDeadLetters(stream, button) {
  button.disabled = true;
  try {
    const { replayed } = await api("POST", `/v1/admin/dlq/${encodeURIComponent(stream)}/replay`, {});
    setStatus(`replayed ${replayed} dead letter(s) of ${stream}`);
  } catch (err) {
    setStatus(`replay of ${stream} failed: ${err.message}`, true);
  }
  await poll();
}

function renderQueues(queues) {
  const body = $("queues").tBodies[0];
  body.replaceChildren(
    ...queues.map((q) => {
      const action = q.paused ? "resume" : "pause";
      const button = el(
        "button",
        {
          "data-queue-action": action,
          onclick: async () => {
            button.disabled = true;
            try {
              await api("POST", `/v1/admin/queues/${encodeURIComponent(q.name)}/${action}`);
            } catch (err) {
              setStatus(`${action} of ${q.name} failed: ${err.message}`, true);
            }
            await poll();
          },
        },
        q.paused ? "Resume" : "Pause",
      );
      return el(
        "tr",
        { "data-queue": q.name },
        el("td", {}, q.name),
        ...["waiting", "active", "delayed", "completed", "failed"].map((k) => el("td", { class: `n ${k}` }, fmt(q[k]))),
        el("td", { class: q.paused ? "state paused" : "state" }, q.paused ? "paused" : "running"),
        el("td", {}, button),
      );
    }),
  );
}

function renderSockets(summary) {
  const body = $("sockets").tBodies[0];
  const rows = summary.gateways.map((g) =>
    el("tr", { "data-gateway": g.gateway }, el("td", {}, g.gateway), el("td", { class: "n" }, fmt(g.users))),
  );
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { class: "empty", colspan: 2 }, "no gateway has users")));
  body.replaceChildren(...rows);
  $("t-connected").textContent = fmt(summary.users) + (summary.truncated ? "+" : "");
}

function line(g, x1, y1, x2, y2) {
  g.beginPath();
  g.moveTo(x1, y1);
  g.lineTo(x2, y2);
  g.stroke();
}

function dot(g, x, y, r) {
  g.beginPath();
  g.arc(x, y, r, 0, 2 * Math.PI);
  g.fill();
}

/** Equirectangular map fitted to what it shows (the whole world when it shows nothing). */
function renderMap(live) {
  const canvas = $("map");
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio)) canvas.width = Math.round(w * ratio);
  if (canvas.height !== Math.round(h * ratio)) canvas.height = Math.round(h * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);

  const lats = [];
  const lngs = [];
  for (const p of [...live.users, ...live.bumps]) {
    lats.push(p.latitude);
    lngs.push(p.longitude);
  }
  for (const v of live.viewports) {
    if (v.west > v.east) continue;
    lats.push(v.north, v.south);
    lngs.push(v.west, v.east);
  }
  let box = { s: -85, n: 85, w: -180, e: 180 };
  if (lats.length) {
    box = { s: Math.min(...lats), n: Math.max(...lats), w: Math.min(...lngs), e: Math.max(...lngs) };
    const pad = Math.max(box.n - box.s, box.e - box.w, 0.002) * 0.08;
    box = { s: box.s - pad, n: box.n + pad, w: box.w - pad, e: box.e + pad };
  }
  // Keep the aspect of an equirectangular projection at the box's middle latitude.
  const kx = Math.cos((((box.n + box.s) / 2) * Math.PI) / 180);
  const scale = Math.min(w / ((box.e - box.w) * kx), h / (box.n - box.s));
  const cx = (box.e + box.w) / 2;
  const cy = (box.n + box.s) / 2;
  const x = (lng) => w / 2 + (lng - cx) * kx * scale;
  const y = (lat) => h / 2 - (lat - cy) * scale;

  // Graticule with labels.
  const span = Math.max((w / scale / kx) | 0, h / scale);
  const step =
    [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30].find((s) => span / s <= 10) || 30;
  g.strokeStyle = "#1c2733";
  g.fillStyle = "#5d6f82";
  g.font = "10px system-ui";
  g.lineWidth = 1;
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  for (let lng = Math.ceil((cx - w / 2 / scale / kx) / step) * step; x(lng) < w; lng += step) {
    line(g, x(lng), 0, x(lng), h);
    g.fillText(lng.toFixed(digits), x(lng) + 2, h - 4);
  }
  for (let lat = Math.ceil((cy - h / 2 / scale) / step) * step; y(lat) > 0; lat += step) {
    line(g, 0, y(lat), w, y(lat));
    g.fillText(lat.toFixed(digits), 2, y(lat) - 2);
  }

  g.strokeStyle = "rgba(60, 207, 142, 0.55)";
  for (const v of live.viewports) {
    if (v.west <= v.east) g.strokeRect(x(v.west), y(v.north), x(v.east) - x(v.west), y(v.south) - y(v.north));
  }
  g.fillStyle = "#4fb3ff";
  for (const u of live.users) {
    dot(g, x(u.longitude), y(u.latitude), 2.5);
  }
  const now = Date.now();
  for (const b of live.bumps) {
    const age = Math.min(1, Math.max(0, (now - b.at) / (live.window_ms || 60000)));
    g.fillStyle = `rgba(255, 93, 93, ${0.9 - age * 0.6})`;
    dot(g, x(b.longitude), y(b.latitude), 5);
  }
  $("map-caption").textContent =
    `${fmt(live.users.length)} users · ${fmt(live.viewports.length)} viewports · ${fmt(live.bumps.length)} bumps, last ${Math.round(live.window_ms / 1000)} s`;
  $("t-active").textContent = fmt(live.users.length);
  $("t-bumps").textContent = fmt(live.bumps.length);
}

async function poll() {
  clearTimeout(timer);
  if (!token) {
    setStatus("enter an admin token");
    return;
  }
  try {
    const [streams, queues, sockets, live] = await Promise.all([
      api("GET", "/v1/admin/streams"),
      api("GET", "/v1/admin/queues"),
      api("GET", "/v1/admin/sockets"),
      api("GET", `/v1/admin/live?window_s=${WINDOW_S}`),
    ]);
    renderStreams(streams.streams);
    renderQueues(queues.queues);
    renderSockets(sockets);
    renderMap(live);
    document.body.dataset.updated = String(Date.now());
    setStatus(`updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    if (err instanceof HttpFailure && (err.status === 401 || err.status === 403)) {
      setStatus(err.status === 401 ? "token refused: enter a valid admin token" : "this token has no admin role", true);
      return;
    }
    setStatus(`update failed: ${err.message}`, true);
  }
  timer = setTimeout(poll, POLL_MS);
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token").value.trim();
  $("token").value = "";
  if (token) localStorage.setItem(TOKEN_KEY, token);
  poll();
});
$("forget-token").addEventListener("click", () => {
  token = "";
  localStorage.removeItem(TOKEN_KEY);
  clearTimeout(timer);
  setStatus("no token");
});
poll();
