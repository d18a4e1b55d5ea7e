// The playground page: edit the formula or a setting, the server re-runs
// the scenario, the page redraws. Plain JS and SVG, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
// How long typing must pause before the scenario re-runs.
const DEBOUNCE_MS = 150;
// Lines are told apart by their dash pattern as well as their colour.
const STYLES = [
  { color: "#0550ae", dash: "" },
  { color: "#cf222e", dash: "6 3" },
  { color: "#116329", dash: "2 2" },
  { color: "#8250df", dash: "8 3 2 3" },
  { color: "#953800", dash: "1 3" },
  { color: "#1b1b1b", dash: "10 4" },
  { color: "#bf3989", dash: "4 2 1 2" },
];

const state = {
  scenarios: [],     // [{name, toml}]
  formulas: {},      // the formula as edited, by scenario name
  sent: 0,           // requests sent
  shown: 0,          // the latest request whose answer was drawn
  last: null,        // the last run that checked
  zoom: null,        // [from, to] hours, or null: the whole run
  timer: null,
  assistTimer: null, // the pending request for hover and completions
};

// --- the API ---------------------------------------------------------------

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || response.statusText);
  return answer;
}

function number(id) {
  const v = $(id).value.trim();
  return v === "" ? undefined : Number(v);
}

// What to run, as the page now says it.
function setup() {
  const name = $("scenario").value;
  const entry = state.scenarios.find((s) => s.name === name);
  const knobs = {
    interval: $("interval").value.trim() || undefined,
    cores: number("cores"),
    dedicated_price: number("dedicated_price"),
    low_priority_price: number("low_priority_price"),
    load: number("load") === 1 ? undefined : number("load"),
  };
  const toml = $("toml").value;
  return {
    scenario: name,
    toml: entry && toml !== entry.toml ? toml : undefined,
    formula: $("formula").disabled ? undefined : $("formula").value,
    knobs,
    seed: number("seed"),
  };
}

// --- running ---------------------------------------------------------------

function schedule() {
  clearTimeout(state.timer);
  state.editedAt = performance.now();
  state.timer = setTimeout(rerun, DEBOUNCE_MS);
  highlight();
}

async function rerun() {
  const id = ++state.sent;
  const started = performance.now();
  $("status").textContent = "running…";
  try {
    const answer = await post("/api/run", setup());
    if (id < state.shown) return; // a later answer is already drawn
    state.shown = id;
    showDiagnostics(answer.diagnostics);
    $("stale").hidden = answer.run !== null;
    document.body.dataset.formulaOk = String(answer.run !== null);
    if (answer.run) {
      state.last = answer.run;
      draw();
      const roundTrip = performance.now() - started;
      document.body.dataset.roundTripMs = roundTrip.toFixed(1);
      $("status").textContent =
        `redrawn ${roundTrip.toFixed(0)} ms after the request (simulated in ${answer.run.simulated_in_ms.toFixed(0)} ms)`;
    } else {
      $("status").textContent = "the formula has errors";
    }
    document.body.dataset.runs = String(id);
  } catch (e) {
    if (id < state.shown) return;
    state.shown = id;
    $("status").textContent = `error: ${e.message}`;
    showDiagnostics([]);
    const li = document.createElement("li");
    li.className = "error";
    li.textContent = e.message;
    $("diagnostics").append(li);
  }
}

// --- the formula editor ----------------------------------------------------

const TOKEN = /(\/\/[^\n]*)|("(?:[^"\\\n]|\\.)*"?)|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(\$[A-Za-z_]\w*)|([A-Za-z_]\w*)(?=\s*\()/g;
const CLASSES = [null, "tok-comment", "tok-string", "tok-number", "tok-service", "tok-call"];

// The text as HTML: tokens coloured, diagnostics' ranges marked.
function highlight() {
  const text = $("formula").value;
  const cls = new Array(text.length).fill("");
  for (const m of text.matchAll(TOKEN)) {
    const group = m.findIndex((g, i) => i > 0 && g !== undefined);
    for (let i = m.index; i < m.index + m[0].length; i++) cls[i] = CLASSES[group];
  }
  const diag = new Array(text.length + 1).fill("");
  for (const d of state.diagnostics || []) {
    const from = offset(text, d.range.start);
    const to = Math.max(offset(text, d.range.end), from + 1);
    const kind = d.severity === 1 ? "diag-error" : "diag-warning";
    for (let i = from; i < to && i <= text.length; i++) if (diag[i] !== "diag-error") diag[i] = kind;
  }
  let html = "";
  let i = 0;
  while (i <= text.length) {
    let j = i + 1;
    while (j < text.length && cls[j] === cls[i] && diag[j] === diag[i]) j++;
    const piece = i < text.length ? text.slice(i, j) : (diag[i] ? " " : "");
    const classes = [cls[i], diag[i]].filter(Boolean).join(" ");
    html += classes ? `<span class="${classes}">${escape(piece)}</span>` : escape(piece);
    i = j;
  }
  $("highlight").innerHTML = html + "\n";
}

// The index in `text` of an LSP position (both count UTF-16 code units).
function offset(text, position) {
  let line = 0, i = 0;
  while (line < position.line && i < text.length) {
    if (text[i++] === "\n") line++;
  }
  const end = text.indexOf("\n", i);
  return Math.min(i + position.character, end === -1 ? text.length : end);
}

function escape(s) {
  return s.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]);
}

function showDiagnostics(diagnostics) {
  state.diagnostics = diagnostics;
  const list = $("diagnostics");
  list.replaceChildren(...diagnostics.map((d) => {
    const li = document.createElement("li");
    li.className = d.severity === 1 ? "error" : "warning";
    li.textContent = `${d.code} at ${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`;
    return li;
  }));
  highlight();
}

// --- drawing ---------------------------------------------------------------

function draw() {
  const run = state.last;
  drawSummary(run.summary);
  const s = run.series;
  const states = s.nodes.filter(([, v]) => v.some((n) => n > 0));
  const nodes = states.map(([name, values]) => ({ name, values }));
  nodes.push({ name: "target dedicated", values: s.target[0], target: true });
  if (s.target[1].some((n) => n > 0)) nodes.push({ name: "target low-priority", values: s.target[1], target: true });
  chart($("chart-nodes"), s.hours, nodes, "nodes");
  chart($("chart-tasks"), s.hours, [{ name: "waiting", values: s.waiting }, { name: "running", values: s.running }], "tasks");
  chart($("chart-cost"), s.hours, [{ name: "cost", values: s.cost }], "cost", 2);
  drawEvaluations(run.evaluations);
}

function drawSummary(summary) {
  const wait = summary.queue_wait_seconds;
  const t = summary.tasks;
  const rows = [
    ["cost", `${summary.cost.total.toFixed(2)} (dedicated ${summary.cost.dedicated.toFixed(2)}, low-priority ${summary.cost.low_priority.toFixed(2)})`],
    ["node-hours", summary.node_hours.total.toFixed(2)],
    ["queue wait", wait ? `mean ${seconds(wait.mean)}, p95 ${seconds(wait.p95)}, max ${seconds(wait.max)}` : "no task started"],
    ["tasks", `${t.succeeded} succeeded, ${t.failed} failed, ${t.running} running, ${t.active} waiting (of ${t.submitted})`],
    ["evaluations", `${summary.evaluations.ok} ok, ${summary.evaluations.failed} failed`],
  ];
  $("summary").replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    dd.dataset.figure = k;
    return [dt, dd];
  }));
}

function seconds(s) {
  if (s < 60) return `${s.toFixed(0)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.append(e);
  return e;
}

// A line chart of `lines` over `xs` (hours), within the zoom; hover shows
// every line's value at the nearest sample, a drag zooms, a double-click
// zooms out. Each line has its own dash pattern and a legend entry.
function chart(svg, xs, lines, unit, decimals = 0) {
  svg.replaceChildren();
  const width = svg.clientWidth || 700, height = svg.clientHeight || 190;
  const pad = { left: 48, right: 150, top: 8, bottom: 22 };
  const [x0, x1] = state.zoom || [xs[0] || 0, xs[xs.length - 1] || 1];
  const shown = xs.map((x, i) => i).filter((i) => xs[i] >= x0 && xs[i] <= x1);
  const ymax = Math.max(1, ...lines.flatMap((l) => shown.map((i) => l.values[i])));
  const X = (x) => pad.left + (x - x0) / Math.max(x1 - x0, 1e-9) * (width - pad.left - pad.right);
  const Y = (y) => height - pad.bottom - y / ymax * (height - pad.top - pad.bottom);
  for (const f of [0, 0.5, 1]) {
    el("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: Y(ymax * f), y2: Y(ymax * f) }, svg);
    el("text", { x: pad.left - 4, y: Y(ymax * f) + 4, "text-anchor": "end" }, svg).textContent = (ymax * f).toFixed(decimals);
  }
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const x = x0 + (x1 - x0) * f;
    el("text", { x: X(x), y: height - 6, "text-anchor": "middle" }, svg).textContent = `${x.toFixed(1)} h`;
  }
  el("line", { class: "axis", x1: pad.left, x2: pad.left, y1: pad.top, y2: height - pad.bottom }, svg);
  lines.forEach((line, k) => {
    const style = line.target ? { color: "#000", dash: "5 5" } : STYLES[k % STYLES.length];
    const points = shown.map((i) => `${X(xs[i]).toFixed(1)},${Y(line.values[i]).toFixed(1)}`).join(" ");
    el("polyline", {
      class: "line", points, stroke: style.color, "stroke-dasharray": style.dash,
      "stroke-width": line.target ? 2.2 : 1.6, "data-name": line.name,
    }, svg);
    const ly = pad.top + 10 + k * 14;
    el("line", { x1: width - pad.right + 8, x2: width - pad.right + 34, y1: ly - 4, y2: ly - 4, stroke: style.color,
      "stroke-dasharray": style.dash, "stroke-width": 2 }, svg);
    el("text", { x: width - pad.right + 38, y: ly }, svg).textContent = line.name;
  });
  const cursor = el("line", { class: "cursor", y1: pad.top, y2: height - pad.bottom, visibility: "hidden" }, svg);
  const tip = el("g", { class: "tip", visibility: "hidden" }, svg);
  const band = el("rect", { class: "zoom", y: pad.top, height: height - pad.top - pad.bottom, width: 0 }, svg);
  const hoursAt = (event) => x0 + (event.offsetX - pad.left) / (width - pad.left - pad.right) * (x1 - x0);
  let dragFrom = null;
  svg.onmousemove = (event) => {
    const h = hoursAt(event);
    if (dragFrom !== null) {
      band.setAttribute("x", Math.min(X(dragFrom), X(h)));
      band.setAttribute("width", Math.abs(X(h) - X(dragFrom)));
    }
    if (!shown.length) return;
    const i = shown.reduce((best, j) => Math.abs(xs[j] - h) < Math.abs(xs[best] - h) ? j : best, shown[0]);
    cursor.setAttribute("x1", X(xs[i]));
    cursor.setAttribute("x2", X(xs[i]));
    cursor.setAttribute("visibility", "visible");
    const rows = [`${xs[i].toFixed(2)} h`, ...lines.map((l) => `${l.name}: ${l.values[i].toFixed(decimals)}`)];
    tip.replaceChildren();
    const tx = Math.min(X(xs[i]) + 8, width - 170);
    el("rect", { x: tx, y: pad.top, width: 160, height: rows.length * 13 + 6 }, tip);
    rows.forEach((r, k) => { el("text", { x: tx + 4, y: pad.top + 14 + k * 13 }, tip).textContent = r; });
    tip.setAttribute("visibility", "visible");
    svg.dataset.hover = rows.join("; ");
  };
  svg.onmouseleave = () => { cursor.setAttribute("visibility", "hidden"); tip.setAttribute("visibility", "hidden"); };
  svg.onmousedown = (event) => { dragFrom = hoursAt(event); };
  svg.onmouseup = (event) => {
    const to = hoursAt(event);
    if (dragFrom !== null && Math.abs(X(to) - X(dragFrom)) > 5) {
      state.zoom = [Math.min(dragFrom, to), Math.max(dragFrom, to)];
      draw();
    }
    dragFrom = null;
    band.setAttribute("width", 0);
  };
  svg.ondblclick = () => { state.zoom = null; draw(); };
}

function drawEvaluations(evaluations) {
  $("evaluation-count").textContent = `(${evaluations.length})`;
  const body = $("evaluations").tBodies[0];
  body.replaceChildren(...evaluations.map((e, index) => {
    const tr = document.createElement("tr");
    const time = document.createElement("td");
    const what = document.createElement("td");
    time.textContent = e.timestamp.slice(0, 16).replace("T", " ");
    what.textContent = e.error ? `${e.error.code}: ${e.error.message}` : e.results;
    if (e.error) what.className = "failed";
    tr.append(time, what);
    tr.onclick = () => showSeen(index, tr);
    return tr;
  }));
}

async function showSeen(index, row) {
  for (const r of $("evaluations").tBodies[0].rows) r.classList.toggle("selected", r === row);
  const pane = $("seen");
  pane.textContent = "…";
  try {
    const seen = await post("/api/evaluation", { run: setup(), index });
    const table = document.createElement("table");
    const add = (k, v) => {
      const tr = table.insertRow();
      tr.insertCell().textContent = k;
      tr.insertCell().textContent = v;
    };
    add("time()", seen.timestamp);
    for (const [k, v] of Object.entries(seen.pool)) add(k, v);
    for (const m of seen.metrics) {
      const last = m.last.map((v) => +v.toFixed(3)).join(", ");
      add(m.name, m.count ? `${m.count} samples; the last ${m.last.length}, oldest first: ${last}` : "no sample");
    }
    pane.replaceChildren(table);
  } catch (e) {
    pane.textContent = `error: ${e.message}`;
  }
}

// --- compare ---------------------------------------------------------------

async function compare() {
  const table = $("compare-table");
  table.textContent = "running…";
  const formulas = [$("formula").value, $("formula-b").value];
  try {
    const results = await post("/api/compare", { run: setup(), formulas, seeds: number("seeds") || 5 });
    table.replaceChildren();
    const head = table.insertRow();
    for (const h of ["formula", "mean cost", "mean wait", "seeds"]) head.insertCell().textContent = h;
    const points = [];
    results.forEach((r, k) => {
      const name = k === 0 ? "A (editor)" : "B";
      const row = table.insertRow();
      row.insertCell().textContent = name;
      if (!r.runs.length) {
        row.insertCell().textContent = `does not check: ${r.diagnostics.filter((d) => d.severity === 1).map((d) => d.message).join("; ")}`;
        return;
      }
      const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const waits = r.runs.map((x) => x.mean_wait_s ?? 0);
      row.insertCell().textContent = mean(r.runs.map((x) => x.cost)).toFixed(2);
      row.insertCell().textContent = seconds(mean(waits));
      row.insertCell().textContent = r.runs.length;
      r.runs.forEach((x) => points.push({ k, name, cost: x.cost, wait: x.mean_wait_s ?? 0 }));
    });
    scatter($("chart-compare"), points);
  } catch (e) {
    table.textContent = `error: ${e.message}`;
  }
}

// Cost against mean queue wait, one mark per seed: a circle for A, a
// square for B.
function scatter(svg, points) {
  svg.replaceChildren();
  const width = svg.clientWidth || 400, height = svg.clientHeight || 190;
  const pad = 40;
  const cmax = Math.max(1e-9, ...points.map((p) => p.cost)), wmax = Math.max(1, ...points.map((p) => p.wait));
  const X = (w) => pad + w / wmax * (width - 2 * pad), Y = (c) => height - pad + 10 - c / cmax * (height - pad - 10);
  el("line", { class: "axis", x1: pad, x2: width - pad, y1: height - pad + 10, y2: height - pad + 10 }, svg);
  el("line", { class: "axis", x1: pad, x2: pad, y1: 8, y2: height - pad + 10 }, svg);
  el("text", { x: width / 2, y: height - 4, "text-anchor": "middle" }, svg).textContent = `mean queue wait (max ${seconds(wmax)})`;
  el("text", { x: 4, y: 12 }, svg).textContent = `cost (max ${cmax.toFixed(2)})`;
  for (const p of points) {
    const attrs = { fill: STYLES[p.k].color };
    const mark = p.k === 0
      ? el("circle", { ...attrs, cx: X(p.wait), cy: Y(p.cost), r: 4 }, svg)
      : el("rect", { ...attrs, x: X(p.wait) - 4, y: Y(p.cost) - 4, width: 8, height: 8 }, svg);
    el("title", {}, mark).textContent = `${p.name}: cost ${p.cost.toFixed(2)}, wait ${seconds(p.wait)}`;
  }
}

// --- scenarios, downloads, start -------------------------------------------

// Fills the knobs and the editor from a scenario's TOML (a few keys read
// with regular expressions: the server checks the scenario itself).
function pick(name) {
  const entry = state.scenarios.find((s) => s.name === name);
  $("toml").value = entry.toml;
  const grab = (re) => (entry.toml.match(re) || [])[1] || "";
  $("interval").value = grab(/^\s*interval\s*=\s*"([^"]*)"/m);
  $("cores").value = grab(/\bcores\s*=\s*(\d+)/);
  $("dedicated_price").value = grab(/\bdedicated_price\s*=\s*([\d.]+)/);
  $("low_priority_price").value = grab(/\blow_priority_price\s*=\s*([\d.]+)/);
  $("load").value = 1;
  state.zoom = null;
  const formula = entry.toml.match(/^formula\s*=\s*'''\n?([\s\S]*?)'''/m) || entry.toml.match(/^formula\s*=\s*"""\n?([\s\S]*?)"""/m);
  const fixed = !/^\[pool\.autoscale\]/m.test(entry.toml);
  $("formula").disabled = fixed;
  $("fixed-note").hidden = !fixed;
  $("formula").value = fixed ? "" : (state.formulas[name] ?? (formula ? formula[1] : ""));
  $("formula-b").value = $("formula").value;
  schedule();
}

function download(name, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  a.download = name;
  a.click();
  URL.revokeObjectURL(a.href);
}

// --- what the language server says at the cursor ---------------------------

// The name being typed before the cursor, and where it starts.
function wordBefore(text, at) {
  let from = at;
  while (from > 0 && /[A-Za-z0-9_$]/.test(text[from - 1])) from--;
  return { from, prefix: text.slice(from, at) };
}

// Asks for the hover and the completions at the cursor (its line and
// UTF-16 character, as the language server counts them), a moment after
// the cursor stops; shows the type of the name under it and the names
// that complete the one being typed (a click writes it in).
function scheduleAssist() {
  clearTimeout(state.assistTimer);
  state.assistTimer = setTimeout(assist, 120);
}

async function assist() {
  const editor = $("formula");
  const text = editor.value;
  const at = editor.selectionStart;
  const before = text.slice(0, at);
  const line = before.split("\n").length - 1;
  const character = at - (before.lastIndexOf("\n") + 1);
  let answer;
  try {
    answer = await post("/api/assist", { formula: text, line, character });
  } catch (e) {
    return;
  }
  if (editor.value !== text || editor.selectionStart !== at) return;
  $("hover").textContent = (answer.hover || "").replace(/^```\n?|\n?```$/g, "");
  const { from, prefix } = wordBefore(text, at);
  const afterDot = text[from - 1] === ".";
  const offered = prefix === "" && !afterDot
    ? []
    : answer.completions.filter((c) => c.label.startsWith(prefix) && c.label !== prefix).slice(0, 8);
  $("completions").replaceChildren(...offered.map((c) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = c.label;
    button.title = c.detail || "";
    button.onclick = () => {
      editor.value = text.slice(0, from) + c.label + text.slice(at);
      editor.focus();
      editor.selectionStart = editor.selectionEnd = from + c.label.length;
      editor.dispatchEvent(new Event("input"));
      scheduleAssist();
    };
    return button;
  }));
}

async function start() {
  const response = await fetch("/api/scenarios");
  state.scenarios = await response.json();
  $("scenario").replaceChildren(...state.scenarios.map((s) => new Option(s.name, s.name)));
  $("scenario").onchange = () => pick($("scenario").value);
  $("formula").addEventListener("input", () => { state.formulas[$("scenario").value] = $("formula").value; schedule(); });
  $("formula").addEventListener("scroll", () => { $("highlight").scrollTop = $("formula").scrollTop; });
  for (const event of ["keyup", "click"]) $("formula").addEventListener(event, scheduleAssist);
  for (const id of ["seed", "interval", "cores", "dedicated_price", "low_priority_price", "load", "toml"]) {
    $(id).addEventListener("input", schedule);
  }
  $("upload").onchange = async () => {
    const file = $("upload").files[0];
    if (file) { $("toml").value = await file.text(); $("toml-pane").open = true; schedule(); }
  };
  $("download-scenario").onclick = () => state.last && download(`${$("scenario").value}.toml`, state.last.scenario_toml);
  $("download-formula").onclick = () => download(`${$("scenario").value}.formula`, $("formula").value);
  $("compare").onclick = compare;
  window.addEventListener("resize", () => state.last && draw());
  pick(state.scenarios[0].name);
}

start();
