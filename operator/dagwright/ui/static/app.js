// Dagwright web view: a read-only page over Server-Sent Events. Each page opens one stream for
// the one thing it shows; the server pushes a new view after every change its watches see.
// The DAG is laid out by dagre (vendored, static/vendor/); everything else is plain DOM.
"use strict";

const main = document.getElementById("main");
const live = document.getElementById("live");
let stream = null;
let page = null; // the state of the page on screen

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const phase = (p, c) => `<span class="phase" data-phase="${esc(p)}" style="background:${esc(c)}">${esc(p)}</span>`;
const enc = encodeURIComponent;

function open(url, onView) {
  if (stream) stream.close();
  live.textContent = "connecting…"; live.className = "live";
  stream = new EventSource(url);
  stream.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  stream.onerror = () => { live.textContent = "reconnecting…"; live.className = "live"; };
  stream.onmessage = (event) => onView(JSON.parse(event.data));
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  page = null;
  if (parts[0] === "runs" && parts.length === 3) return runPage(parts[1], parts[2], params);
  if (parts[0] === "workflows" && parts.length === 3) return workflowPage(parts[1], parts[2]);
  if (parts[0] === "workflows") return workflowsPage();
  return runsPage(params);
}
window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", route);

// ------------------------------------------------------------------ runs table

function runsPage(params) {
  const filter = {namespace: params.get("namespace") || "", workflow: params.get("workflow") || "", phase: params.get("phase") || ""};
  main.innerHTML = `<h1>Runs</h1>
    <div class="filters" id="filters"></div>
    <table id="runs"><thead><tr><th>Namespace</th><th>Name</th><th>Workflow</th><th>Phase</th><th>Progress</th>
    <th>Started</th><th>Duration</th><th>Logical date</th><th>Message</th></tr></thead><tbody></tbody></table>
    <p class="muted" id="runs-count"></p>`;
  const query = new URLSearchParams(Object.entries(filter).filter(([, v]) => v)).toString();
  open(`/api/stream/runs${query ? "?" + query : ""}`, (view) => {
    drawFilters(filter, view.choices);
    main.querySelector("#runs tbody").innerHTML = view.rows.map((r) =>
      `<tr class="clickable" data-run="${esc(r.namespace)}/${esc(r.name)}" data-phase="${esc(r.phase)}">
       <td>${esc(r.namespace)}</td><td><a href="#/runs/${enc(r.namespace)}/${enc(r.name)}">${esc(r.name)}</a></td>
       <td>${r.workflow ? `<a href="#/workflows/${enc(r.namespace)}/${enc(r.workflow)}">${esc(r.workflow)}</a>` : '<span class="muted">(inline)</span>'}</td>
       <td>${phase(r.phase, r.colour)}</td><td>${esc(r.progress)}</td><td>${esc(r.startedAt)}</td>
       <td>${esc(r.duration)}</td><td>${esc(r.logicalDate)}</td><td class="msg">${esc(r.message)}</td></tr>`).join("");
    main.querySelector("#runs-count").textContent = `${view.rows.length} of ${view.total} runs`;
    main.querySelectorAll("#runs tbody tr").forEach((tr) => tr.addEventListener("click", (e) => {
      if (e.target.tagName !== "A") location.hash = `#/runs/${tr.dataset.run.split("/").map(enc).join("/")}`;
    }));
  });
}

function drawFilters(filter, choices) {
  const box = main.querySelector("#filters");
  box.innerHTML = ["namespace", "workflow", "phase"].map((field) => {
    const values = new Set(choices[field]); if (filter[field]) values.add(filter[field]);
    return `<label>${field}<select id="f-${field}" data-field="${field}"><option value="">all</option>${
      [...values].sort().map((v) => `<option${v === filter[field] ? " selected" : ""}>${esc(v)}</option>`).join("")}</select></label>`;
  }).join("");
  box.querySelectorAll("select").forEach((select) => select.addEventListener("change", () => {
    const next = {...filter, [select.dataset.field]: select.value};
    const query = new URLSearchParams(Object.entries(next).filter(([, v]) => v)).toString();
    location.hash = `#/${query ? "?" + query : ""}`;
  }));
}

// ------------------------------------------------------------------ workflows

function workflowsPage() {
  main.innerHTML = `<h1>Workflows</h1><table id="workflows"><thead><tr><th>Namespace</th><th>Name</th><th>Schedule</th>
    <th>Time zone</th><th>Tasks</th><th>Last run</th><th>Last status</th><th>Next run</th><th>Problem</th></tr></thead><tbody></tbody></table>`;
  open("/api/stream/workflows", (view) => {
    main.querySelector("#workflows tbody").innerHTML = view.rows.map((w) =>
      `<tr data-workflow="${esc(w.namespace)}/${esc(w.name)}"><td>${esc(w.namespace)}</td>
       <td><a href="#/workflows/${enc(w.namespace)}/${enc(w.name)}">${esc(w.name)}</a></td>
       <td>${esc(w.schedule)}${w.suspend ? ' <span class="muted">(suspended)</span>' : ""}</td><td>${esc(w.timezone)}</td>
       <td>${w.tasks}</td><td>${esc(w.lastRun)}</td><td>${w.lastRunPhase ? phase(w.lastRunPhase, w.lastRunColour) : ""}</td>
       <td>${esc(w.nextScheduleTime)}</td><td class="msg">${w.invalid ? `<span class="phase" style="background:#d64545">Invalid</span> ${esc(w.invalid)}` : ""}</td></tr>`).join("");
  });
}

function workflowPage(namespace, name) {
  main.innerHTML = `<h1>Workflow ${esc(namespace)}/${esc(name)}</h1><div id="wf"></div>`;
  open(`/api/stream/workflows/${enc(namespace)}/${enc(name)}`, (w) => {
    const box = main.querySelector("#wf");
    if (w.missing) { box.innerHTML = `<div class="error">No workflow ${esc(namespace)}/${esc(name)}.</div>`; return; }
    box.innerHTML = `
      ${w.invalid ? `<div class="error" id="wf-invalid"><b>Valid=False</b>: ${esc(w.invalid)}</div>` : ""}
      <div class="meta">
        <div><span>Schedule</span><b id="wf-schedule">${esc(w.schedule) || "none (runs only when triggered)"}</b></div>
        <div><span>Time zone</span><b id="wf-timezone">${esc(w.timezone)}</b></div>
        <div><span>Concurrency</span>${esc(w.concurrencyPolicy)}</div>
        <div><span>Max active runs</span>${esc(w.maxActiveRuns ?? "-")}</div>
        <div><span>Tasks</span>${w.tasks}</div>
        ${w.suspend ? "<div><b>suspended</b></div>" : ""}
      </div>
      ${w.scheduleError ? `<div class="error" id="wf-schedule-error">${esc(w.scheduleError)}</div>` : ""}
      ${w.schedule ? `<h2>Next fire times</h2><table id="wf-fires"><thead><tr><th>${esc(w.timezone)}</th><th>UTC</th></tr></thead><tbody>
        ${w.nextFires.map((f) => `<tr><td>${esc(f.local)}</td><td>${esc(f.utc)}</td></tr>`).join("") ||
          `<tr><td colspan="2" class="muted">${w.suspend ? "suspended" : "none"}</td></tr>`}</tbody></table>` : ""}
      <h2>Parameters</h2>
      <table id="wf-params"><thead><tr><th>Name</th><th>Default</th><th>Description</th></tr></thead><tbody>
        ${w.params.map((p) => `<tr><td>${esc(p.name)}</td><td>${p.default == null ? '<span class="muted">(required)</span>' : esc(p.default)}</td><td class="msg">${esc(p.description)}</td></tr>`).join("") ||
          '<tr><td colspan="3" class="muted">none</td></tr>'}</tbody></table>
      <h2>Recent runs</h2>
      <table id="wf-runs"><thead><tr><th>Name</th><th>Phase</th><th>Progress</th><th>Started</th><th>Duration</th><th>Logical date</th></tr></thead><tbody>
        ${w.runs.map((r) => `<tr data-run="${esc(r.name)}"><td><a href="#/runs/${enc(r.namespace)}/${enc(r.name)}">${esc(r.name)}</a></td>
          <td>${phase(r.phase, r.colour)}</td><td>${esc(r.progress)}</td><td>${esc(r.startedAt)}</td><td>${esc(r.duration)}</td>
          <td>${esc(r.logicalDate)}</td></tr>`).join("") || '<tr><td colspan="6" class="muted">none</td></tr>'}</tbody></table>`;
  });
}

// ------------------------------------------------------------------ a run

function runPage(namespace, name, params) {
  main.innerHTML = `<h1>Run ${esc(namespace)}/${esc(name)}</h1><div id="run-head"></div>
    <div class="layout"><div><div id="graph-wrap"><svg id="dag"></svg></div>
      <h2>Timeline</h2><div class="gantt" id="gantt"></div>
      <h2>Tasks</h2><table id="tasks"><thead><tr><th>Task</th><th>Phase</th><th>Attempts</th><th>Started</th><th>Finished</th><th>Message</th></tr></thead><tbody></tbody></table>
    </div><div class="panel" id="detail"><span class="muted">Click a task in the graph, the timeline or the list.</span></div></div>`;
  page = {namespace, name, view: null, layoutKey: "", selected: params.get("task") || "", autoSelected: false, logKey: ""};
  const state = page;
  open(`/api/stream/runs/${enc(namespace)}/${enc(name)}`, (view) => {
    if (page !== state) return;
    const t0 = performance.now();
    state.view = view;
    if (view.missing) { main.querySelector("#run-head").innerHTML = `<div class="error">No run ${esc(namespace)}/${esc(name)}.</div>`; return; }
    state.tasks = new Map(view.tasks.map((t) => [t.name, t]));
    if (!state.selected && view.failingTask && !state.autoSelected) { state.selected = view.failingTask; state.autoSelected = true; }
    drawRunHead(view);
    const layoutMs = drawGraph(state, view);
    drawGantt(state, view);
    drawTasks(state, view);
    drawDetail(state);
    const ms = performance.now() - t0;
    window.dwRender = {drawMs: ms, layoutMs, sincePageStart: performance.now(), nodes: view.graph.nodes.length,
                       tasks: view.tasks.length, renders: (window.dwRender?.renders || 0) + 1};
    document.body.dataset.rendered = String(window.dwRender.renders);
  });
}

function drawRunHead(v) {
  const counts = Object.entries(v.counts).map(([p, n]) => `${n} ${p.toLowerCase()}`).join(", ");
  const failing = v.failingTask ? v.tasks.find((t) => t.name === v.failingTask) : null;
  main.querySelector("#run-head").innerHTML = `
    ${v.invalid ? `<div class="error" id="run-invalid"><b>Valid=False</b>: ${esc(v.invalid)}</div>` : ""}
    ${failing ? `<div class="banner" id="failing">Failed task: <a href="#" data-task="${esc(failing.name)}">${esc(failing.name)}</a> — ${esc(failing.message)}</div>` : ""}
    <div class="meta">
      <div id="run-phase" data-phase="${esc(v.phase)}"><span>Phase</span>${phase(v.phase, v.colour)}</div>
      <div><span>Workflow</span>${v.workflow ? `<a href="#/workflows/${enc(v.namespace)}/${enc(v.workflow)}">${esc(v.workflow)}</a>` : "(inline)"}</div>
      <div><span>Progress</span>${esc(v.progress)}</div><div><span>Started</span>${esc(v.startedAt)}</div>
      <div><span>Duration</span>${esc(v.duration)}</div><div><span>Logical date</span>${esc(v.logicalDate)}</div>
      <div class="counts"><span>Tasks</span>${esc(counts)}</div>
    </div>${v.message ? `<div class="muted">${esc(v.message)}</div>` : ""}`;
  const link = main.querySelector("#failing a");
  if (link) link.addEventListener("click", (e) => { e.preventDefault(); select(page, link.dataset.task); });
}

function nodeSize(n) {
  const text = n.group ? Math.max(n.label.length, 18) : n.label.length;
  return {width: Math.min(Math.max(text * 7 + 20, 60), 280), height: n.group ? 40 : 28};
}

function drawGraph(state, v) {
  const svg = main.querySelector("#dag");
  const key = JSON.stringify([v.graph.nodes.map((n) => [n.id, n.label]), v.graph.edges]);
  let layoutMs = 0;
  if (key !== state.layoutKey) { // the shape changed: lay it out again
    const t0 = performance.now();
    const g = new dagre.graphlib.Graph();
    g.setGraph({rankdir: "LR", nodesep: 10, ranksep: 40, marginx: 10, marginy: 10});
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of v.graph.nodes) g.setNode(n.id, nodeSize(n));
    for (const [a, b] of v.graph.edges) g.setEdge(a, b);
    dagre.layout(g);
    layoutMs = performance.now() - t0;
    const size = g.graph();
    const edges = g.edges().map((e) => {
      const pts = g.edge(e).points;
      return `<path class="edge" d="M${pts.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join("L")}"/>`;
    }).join("");
    const nodes = v.graph.nodes.map((n) => {
      const p = g.node(n.id);
      const x = p.x - p.width / 2, y = p.y - p.height / 2;
      const sub = n.group ? `<text class="sub" x="${x + 8}" y="${y + 32}"></text>` : "";
      return `<g class="node" data-id="${esc(n.id)}"><title></title><rect x="${x}" y="${y}" width="${p.width}" height="${p.height}"/>
        <text x="${x + 8}" y="${y + 18}">${esc(n.label)}</text>${sub}</g>`;
    }).join("");
    svg.setAttribute("width", size.width); svg.setAttribute("height", size.height);
    svg.innerHTML = `<g>${edges}</g><g>${nodes}</g>`;
    svg.querySelectorAll(".node").forEach((el) => el.addEventListener("click", () => {
      const n = state.nodes.get(el.dataset.id);
      if (n.group) showGroup(state, n); else select(state, n.tasks[0]);
    }));
    state.layoutKey = key;
  }
  // colours and counts: cheap, on every update
  state.nodes = new Map(v.graph.nodes.map((n) => [n.id, n]));
  const selectedNode = state.tasks.get(state.selected)?.node;
  svg.querySelectorAll(".node").forEach((el) => {
    const n = state.nodes.get(el.dataset.id);
    el.dataset.phase = n.phase;
    el.dataset.tasks = n.tasks.length;
    el.querySelector("rect").setAttribute("fill", n.colour);
    el.classList.toggle("selected", el.dataset.id === selectedNode);
    const summary = Object.entries(n.counts).map(([p, c]) => `${c} ${p.toLowerCase()}`).join(", ");
    el.querySelector("title").textContent = n.group ? `${n.label}: ${summary}` : `${n.label}: ${n.phase}`;
    const sub = el.querySelector("text.sub");
    if (sub) sub.textContent = summary;
  });
  return layoutMs;
}

function drawGantt(state, v) {
  const box = main.querySelector("#gantt");
  const span = v.gantt.span || 1;
  if (!v.gantt.rows.length) { box.innerHTML = '<div class="muted" style="padding:6px">No attempt has started.</div>'; return; }
  box.innerHTML = `<div class="muted" style="padding:4px 6px;font-size:11px">from ${esc(v.gantt.origin)}, ${Math.round(span)} s</div>` +
    v.gantt.rows.map((r) => `<div class="grow" data-task="${esc(r.task)}"><div class="gl" title="${esc(r.task)}">${esc(r.task)}</div><div class="gt">${
      r.bars.map((b) => `<div class="bar" data-attempt="${b.attempt}" data-state="${esc(b.state)}" title="${esc(r.task)} attempt ${b.attempt}: ${esc(b.state)}, ${Math.round(b.end - b.start)} s"
        style="left:${(100 * b.start / span).toFixed(3)}%;width:${(100 * (b.end - b.start) / span).toFixed(3)}%;background:${esc(b.colour)}"></div>`).join("")
    }</div></div>`).join("");
  box.onclick = (e) => { const row = e.target.closest(".grow"); if (row) select(state, row.dataset.task); };
}

function drawTasks(state, v) {
  const body = main.querySelector("#tasks tbody");
  const shown = v.tasks.length > 500 ? v.tasks.slice(0, 500) : v.tasks;
  body.innerHTML = shown.map((t) => `<tr class="clickable${t.name === state.selected ? " selected" : ""}" data-task="${esc(t.name)}" data-phase="${esc(t.phase)}">
    <td>${esc(t.name)}</td><td>${phase(t.phase, t.colour)}</td><td>${t.attempts}</td><td>${esc(t.startedAt)}</td>
    <td>${esc(t.finishedAt)}</td><td class="msg">${esc(t.message)}</td></tr>`).join("") +
    (shown.length < v.tasks.length ? `<tr><td colspan="6" class="muted">… and ${v.tasks.length - shown.length} more (failing and running ones are listed first)</td></tr>` : "");
  body.onclick = (e) => { const row = e.target.closest("tr[data-task]"); if (row) select(state, row.dataset.task); };
}

function select(state, task) {
  state.selected = task; state.logKey = "";
  const v = state.view;
  drawGraph(state, v); drawTasks(state, v); drawDetail(state);
}

function showGroup(state, n) {
  const box = main.querySelector("#detail");
  state.selected = "";
  box.innerHTML = `<h3>${esc(n.label)}</h3><div class="counts">${Object.entries(n.counts).map(([p, c]) => `${phase(p, state.view.tasks.find((t) => t.phase === p)?.colour || "#9aa5b1")} ${c}`).join(" ")}</div>
    <h2>Tasks</h2><div class="members">${n.tasks.map((t) => `<a href="#" data-task="${esc(t)}" style="color:${esc(state.tasks.get(t)?.colour)}">${esc(t)}</a>`).join("")}</div>`;
  box.querySelectorAll("a[data-task]").forEach((a) => a.addEventListener("click", (e) => { e.preventDefault(); select(state, a.dataset.task); }));
}

function drawDetail(state) {
  const box = main.querySelector("#detail");
  const t = state.tasks.get(state.selected);
  if (!t) return;
  const outputs = Object.entries(t.outputs);
  const key = `${t.name}/${t.attempts}/${t.phase}`;
  const keepLog = state.logKey === key ? box.querySelector("#log-box")?.innerHTML : null;
  box.innerHTML = `<h3 id="detail-task" data-task="${esc(t.name)}">${esc(t.name)} ${phase(t.phase, t.colour)}</h3>
    ${t.message ? `<div id="detail-message" class="${t.phase === "Failed" ? "error" : "muted"}">${esc(t.message)}</div>` : ""}
    <div class="meta"><div><span>Depends on</span>${esc(t.dependsOn.join(", ") || "-")}</div>
      <div><span>Attempts</span>${t.attempts}${t.disruptions ? ` (${t.disruptions} disrupted)` : ""}</div>
      ${t.nextAttemptAt ? `<div><span>Next attempt</span>${esc(t.nextAttemptAt)}</div>` : ""}</div>
    <h2>Attempts</h2><table id="attempts"><thead><tr><th>#</th><th>State</th><th>Started</th><th>Took</th><th>Exit</th><th>Failure</th></tr></thead><tbody>
      ${t.attemptList.map((a) => `<tr data-attempt="${a.attempt}"><td>${a.attempt}</td><td>${phase(a.state, a.colour)}</td><td>${esc(a.startedAt)}</td>
        <td>${esc(a.duration)}</td><td class="exit">${a.exitCode ?? ""}</td><td class="msg">${esc(a.failure)}${a.stopped ? " (stopped)" : ""}</td></tr>`).join("") ||
        '<tr><td colspan="6" class="muted">none yet</td></tr>'}</tbody></table>
    <h2>Outputs</h2>${outputs.length ? `<table id="outputs">${outputs.map(([k, val]) => `<tr><td>${esc(k)}</td><td>${esc(val)}</td></tr>`).join("")}</table>` : '<span class="muted">none</span>'}
    <h2>Log tail</h2><div id="log-box">${keepLog ?? '<span class="muted">loading…</span>'}</div>`;
  if (state.logKey !== key) { state.logKey = key; loadLog(state, t); }
}

async function loadLog(state, t) {
  if (!t.attempts) { setLog(state, t, '<span class="muted">no attempt yet</span>'); return; }
  try {
    const response = await fetch(`/api/runs/${enc(state.namespace)}/${enc(state.name)}/tasks/${enc(t.name)}/log`);
    if (!response.ok) throw new Error(`the web view could not read the log: HTTP ${response.status}`);
    const answer = await response.json();
    let html = "";
    if (answer.tail != null) html += `<div class="muted">attempt ${answer.attempt}, pod ${esc(answer.pod)}</div><pre id="log-tail">${esc(answer.tail) || "(empty)"}</pre>`;
    if (answer.kept) html += `<div class="muted">last lines kept by the operator on Job ${esc(answer.job)}</div><pre id="log-kept">${esc(answer.kept)}</pre>`;
    if (answer.error) html += `<div class="error" id="log-error">attempt ${answer.attempt}: ${esc(answer.error)}</div>`;
    setLog(state, t, html);
  } catch (error) {
    setLog(state, t, `<div class="error" id="log-error">${esc(error)}</div>`);
  }
}

function setLog(state, t, html) {
  if (page !== state || state.selected !== t.name) return;
  const box = main.querySelector("#log-box");
  if (box) box.innerHTML = html;
}
