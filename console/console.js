// The migration console: every figure comes from the orchestrator's REST API, with the token the
// operator signed in with (kept in sessionStorage for this tab, sent as X-Authorization, never in
// an address). Text from the server is always set as text, never parsed as HTML.
'use strict';

const TOKEN_KEY = 'cmigToken';

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

function show(message, isError) {
  const el = document.getElementById('message');
  el.textContent = message || '';
  el.classList.toggle('error', Boolean(isError));
}

class SignedOut extends Error {}

// Calls the REST API; resolves to parsed JSON (or null for an empty body).
// A body that is an ArrayBuffer goes as it is (a file); anything else as JSON. With `raw`, the
// answer is returned as a Blob instead of parsed.
async function api(method, path, body, raw) {
  const headers = { 'X-Authorization': token() };
  let sent;
  if (body instanceof ArrayBuffer) {
    headers['Content-Type'] = 'application/octet-stream';
    sent = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    sent = JSON.stringify(body);
  }
  const resp = await fetch(path, { method, headers, body: sent, credentials: 'omit', cache: 'no-store' });
  if (resp.status === 401 || resp.status === 403) throw new SignedOut();
  if (!resp.ok) {
    const text = await resp.text();
    let why = text;
    try { why = JSON.parse(text).message || text; } catch (e) { /* not JSON */ }
    throw new Error(`${method} ${path}: ${resp.status} ${why}`);
  }
  if (raw) return resp.blob();
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

// Fills a description list with [term, value] pairs (a Status value is coloured by its status).
function describe(list, facts) {
  list.replaceChildren();
  for (const [term, value] of facts) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value || '-';
    if (term === 'Status') dd.className = `status-${value}`;
    list.append(dt, dd);
  }
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null || text === '' ? '-' : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function selectionText(selection) {
  if (!selection) return '';
  const parts = [];
  for (const w of selection.workflows || []) parts.push(w.version ? `${w.name}@${w.version}` : w.name);
  for (const t of selection.taskDefs || []) parts.push(`task ${t}`);
  for (const h of selection.eventHandlers || []) parts.push(`handler ${h}`);
  for (const s of selection.schedules || []) parts.push(`schedule ${s}`);
  return parts.join(', ');
}

function parseJson(text) {
  try { return JSON.parse(text || '{}'); } catch (e) { return {}; }
}

let listTimer = 0;

async function showMigrations() {
  const status = document.getElementById('filter-status').value;
  const target = document.getElementById('filter-target').value.trim();
  const since = document.getElementById('filter-since').value;
  const sinceMs = since ? new Date(since).getTime() : 0;
  let query = "workflowType = 'outgoing_migration_request'";
  if (status) query += ` AND status = '${status}'`;
  const params = new URLSearchParams({
    start: '0', size: '200', sort: 'startTime:DESC', freeText: '*', query,
  });
  const found = await api('GET', `/api/workflow/search?${params}`);
  const body = document.querySelector('#migrations-table tbody');
  body.replaceChildren();
  for (const s of (found && found.results) || []) {
    const input = parseJson(s.input);
    if (target && !(input.targetEnvironment || '').includes(target)) continue;
    if (sinceMs && Date.parse(s.startTime) < sinceMs) continue;
    const row = document.createElement('tr');
    const id = document.createElement('td');
    const link = document.createElement('a');
    link.href = `#/migration/${encodeURIComponent(s.workflowId)}`;
    link.textContent = s.workflowId;
    id.appendChild(link);
    row.appendChild(id);
    cell(row, s.status, `status-${s.status}`);
    cell(row, s.startTime);
    cell(row, `${input.sourceEnvironment || '?'} → ${input.targetEnvironment || '?'}`);
    cell(row, selectionText(input.selection));
    cell(row, input.startedBy || s.createdBy);
    const digest = parseJson(s.output).packageDigest;
    cell(row, digest ? `${digest.slice(0, 12)}…` : '').title = digest || '';
    cell(row, s.reasonForIncompletion);
    body.appendChild(row);
  }
  if (!body.children.length) {
    const row = document.createElement('tr');
    cell(row, found && found.results && found.results.length ? 'No migration matches the filters'
      : 'No migrations yet').colSpan = 8;
    body.appendChild(row);
  }
  // The list is looked at again every two seconds while it is shown.
  clearTimeout(listTimer);
  listTimer = setTimeout(() => {
    if (!document.getElementById('migrations').hidden) run(showMigrations);
  }, 2000);
}

function when(ms) { return ms ? new Date(ms).toISOString() : ''; }

function took(start, end) {
  if (!start) return '';
  const ms = (end || Date.now()) - start;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

let shownMigration = null;

// The incoming workflow in the target and its rollback ({environment, workflowId, workflow,
// rollback}); null before the migration started one, {error} when it cannot be read.
async function incomingOf(id) {
  try {
    return await api('GET', `/api/cmig/migrations/${encodeURIComponent(id)}/incoming`);
  } catch (e) {
    if (e instanceof SignedOut) throw e;
    return / 404 /.test(e.message) ? null : { error: e.message };
  }
}

async function showMigration(id) {
  const wf = await api('GET', `/api/workflow/${encodeURIComponent(id)}?includeTasks=true`);
  shownMigration = wf;
  const linked = wf.workflowName === 'outgoing_migration_request' ? await incomingOf(id) : null;
  const incoming = linked && linked.workflow;
  const rollback = linked && linked.rollback;
  const summary = document.getElementById('migration-summary');
  const input = wf.input || {};
  const where = (linked && linked.environment) || input.targetEnvironment || '?';
  const facts = [
    ['Workflow', `${wf.workflowName || ''} ${wf.workflowId}`],
    ['Status', wf.status],
    ['Source → target', `${input.sourceEnvironment || '?'} → ${input.targetEnvironment || '?'}`],
    ['Selection', selectionText(input.selection)],
    ['Started by', input.startedBy],
    ['Started', when(wf.startTime)],
    ['Reason', wf.reasonForIncompletion],
  ];
  if (incoming) facts.push(['Incoming workflow', `${incoming.workflowId} in ${where}: ${incoming.status}`]);
  if (linked && linked.error) facts.push(['Incoming workflow', `cannot be read: ${linked.error}`]);
  if (rollback) facts.push(['Rollback', `${rollback.workflowId} in ${where}: ${rollback.status}`]);
  describe(summary, facts);
  const ended = !['RUNNING', 'PAUSED'].includes(wf.status);
  const options = input.options || {};
  document.getElementById('migration-apply').hidden = !(options.dryRun && wf.status === 'COMPLETED');
  document.getElementById('migration-retry').disabled = !ended || wf.status === 'COMPLETED';
  document.getElementById('migration-restart').disabled = !ended;
  document.getElementById('migration-download').hidden = !packageRefOf(wf);
  document.getElementById('migration-terminate').disabled = ended;
  // Every attempt of the outgoing, incoming and rollback workflows on one timeline.
  const steps = [];
  for (const [label, w] of [['outgoing (here)', wf], [`incoming (${where})`, incoming],
                            [`rollback (${where})`, rollback]]) {
    for (const t of (w && w.tasks) || []) steps.push([label, t]);
  }
  steps.sort(([, a], [, b]) => (a.scheduledTime || 0) - (b.scheduledTime || 0) ||
                               (a.seq || 0) - (b.seq || 0));
  const body = document.querySelector('#steps-table tbody');
  body.replaceChildren();
  for (const [label, t] of steps) {
    const row = document.createElement('tr');
    cell(row, label);
    cell(row, t.referenceTaskName);
    cell(row, t.taskType);
    cell(row, t.status, `status-${t.status}`);
    cell(row, t.retryCount || 0);
    cell(row, t.workerId);
    cell(row, when(t.startTime));
    cell(row, t.startTime ? took(t.startTime, t.endTime) : '');
    cell(row, t.reasonForIncompletion);
    row.appendChild(stepDetails(t, row));
    body.appendChild(row);
  }
  const report = ended ? (await migrationReport(wf)) || (incoming && await migrationReport(incoming))
    : null;
  renderReportFacts(report);
  renderReport(report);
  // A running migration is looked at again as soon as one of its steps changes (the server
  // answers a watch when the change commits), and at least each second for the incoming workflow
  // in the target, while its page is shown.
  clearTimeout(migrationTimer);
  const look = ++migrationLook;
  if (!ended) {
    const again = () => {
      if (look === migrationLook && location.hash === `#/migration/${encodeURIComponent(id)}`) {
        run(() => showMigration(id));
      }
    };
    const seen = migrationStamp.id === id ? migrationStamp.stamp : 0;
    api('GET', `/api/cmig/workflows/${encodeURIComponent(id)}/watch?seen=${seen}&timeout=1000`)
      .then((answer) => {
        migrationStamp = { id, stamp: answer.stamp };
        again();
      }, () => { migrationTimer = setTimeout(again, 1000); });
  }
}

let migrationTimer = 0;
// Each rendering of a migration's page, so that only the latest one looks again.
let migrationLook = 0;
// The change stamp of the migration last shown, from its latest watch.
let migrationStamp = { id: '', stamp: 0 };

async function applyDryRun() {
  const wf = shownMigration;
  if (!wf || !window.confirm(`Apply dry run ${wf.workflowId} as approved? The run takes its ` +
                             'target, selection and options, and refuses, changing nothing, if the ' +
                             'source or the target changed since the dry run.')) {
    return;
  }
  await run(async () => {
    const r = await api('POST', '/api/cmig/migrations',
                        { applyDryRun: wf.workflowId, startedBy: 'console' });
    show(`Started ${r.workflowId}, applying dry run ${wf.workflowId} as approved.`);
    location.hash = `#/migration/${encodeURIComponent(r.workflowId)}`;
  });
}

// A step's input and output as the server holds them (our steps carry names and references,
// never secret values) and its logs, read when the operator opens them, in a row of their own
// under the step's.
function stepDetails(t, row) {
  const td = document.createElement('td');
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = `Details of ${t.referenceTaskName}`;
  button.setAttribute('aria-expanded', 'false');
  let detail = null;
  button.addEventListener('click', () => {
    if (detail) {
      detail.remove();
      detail = null;
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    button.setAttribute('aria-expanded', 'true');
    detail = document.createElement('tr');
    detail.className = 'step-detail';
    const cellAll = document.createElement('td');
    cellAll.colSpan = row.children.length + 1;
    for (const [title, value] of [['Input', t.inputData], ['Output', t.outputData]]) {
      const h = document.createElement('h4');
      h.textContent = `${title} of ${t.referenceTaskName} (attempt ${t.retryCount || 0})`;
      const pre = document.createElement('pre');
      pre.textContent = JSON.stringify(value || {}, null, 2);
      cellAll.append(h, pre);
    }
    const h = document.createElement('h4');
    h.textContent = 'Logs';
    const logs = document.createElement('pre');
    logs.textContent = 'reading...';
    cellAll.append(h, logs);
    detail.appendChild(cellAll);
    row.after(detail);
    run(async () => {
      const lines = await api('GET', `/api/tasks/${encodeURIComponent(t.taskId)}/log`);
      logs.textContent = (lines || []).map((l) => `${when(l.createdTime)} ${l.log}`).join('\n') ||
        '(none)';
    });
  });
  td.appendChild(button);
  return td;
}

function enumText(value, prefix) {
  return (value || '').replace(prefix, '').toLowerCase().replaceAll('_', ' ');
}

function renderReportFacts(report) {
  const box = document.getElementById('report-summary');
  const list = document.getElementById('report-facts');
  list.replaceChildren();
  box.hidden = !report;
  if (!report) return;
  const facts = [];
  const counts = (report.counts || []).map(
    (c) => `${c.count} ${enumText(c.kind, 'ITEM_KIND_')} ${enumText(c.action, 'ITEM_ACTION_')}`);
  if (counts.length) facts.push(`Counts: ${counts.join(', ')}`);
  if (report.packageDigest) facts.push(`Package digest: ${report.packageDigest}`);
  for (const m of report.versionMapping || []) {
    facts.push(`Version mapping: ${m.name} v${m.sourceVersion} → v${m.targetVersion}`);
  }
  const systemTypes = [];
  for (const d of report.manualDependencies || []) {
    if (d.kind === 'DEPENDENCY_KIND_SYSTEM_TASK_TYPE') {
      systemTypes.push(d.name);
      continue;
    }
    const who = (d.referencedBy || []).map(referrerText).join(', ');
    facts.push(`Provide by hand: ${enumText(d.kind, 'DEPENDENCY_KIND_')} ${d.name}` +
               (who ? ` (used by ${who})` : ''));
  }
  if (systemTypes.length) facts.push(`System task types used: ${systemTypes.join(', ')}`);
  for (const u of report.unresolved || []) {
    facts.push(`Unresolved: ${u.name || u.detail || ''} (referenced by ${referrerText(u.referencedBy)})`);
  }
  for (const p of report.blockingProblems || []) facts.push(`Blocking: ${p}`);
  for (const w of report.warnings || []) facts.push(`Warning: ${w}`);
  const v = report.verification;
  if (v) {
    facts.push(v.ok ? `Verification: ok, ${v.checked || 0} checked`
      : `Verification failed: ${(v.problems || []).join('; ')}`);
  }
  for (const fact of facts) {
    const li = document.createElement('li');
    li.textContent = fact;
    list.appendChild(li);
  }
}

// Asks first (`question` says what the action does), then POSTs `action` for the migration shown
// and shows it again.
async function actOnMigration(action, question, done) {
  const wf = shownMigration;
  if (!wf || !window.confirm(`${question(wf.workflowId)}`)) return;
  await run(async () => {
    await api('POST', `/api/workflow/${encodeURIComponent(wf.workflowId)}/${action}`);
    show(`${done} ${wf.workflowId}.`);
    await showMigration(wf.workflowId);
  });
}

function restartMigration() {
  return actOnMigration('restart', (id) => `Restart ${id}? It runs again from its first step ` +
    'under the same id: the source is read afresh and the target planned again.', 'Restarted');
}

function retryMigration() {
  return actOnMigration('retry', (id) => `Retry ${id}? Its failed steps run again; a migration ` +
    'whose target plan failed plans again against the target as it is now.', 'Retried');
}

async function terminateMigration() {
  const wf = shownMigration;
  if (!wf || !window.confirm(`Terminate ${wf.workflowId}? Its incoming workflow in the target ` +
                             'is ended too and what it changed there is rolled back.')) {
    return;
  }
  await run(async () => {
    const reason = new URLSearchParams({ reason: 'terminated from the console' });
    await api('DELETE', `/api/workflow/${encodeURIComponent(wf.workflowId)}?${reason}`);
    show(`Terminated ${wf.workflowId}.`);
    await showMigration(wf.workflowId);
  });
}

// --- New migration: target, selection from this server's definitions, options, preview. ---

// The project's own workflows and task definitions are never offered for migration.
function ownDefinition(name) {
  return ['outgoing_migration_request', 'incoming_migration_request',
          'incoming_migration_rollback'].includes(name) || name.startsWith('cmig_');
}

let choices = [];  // {kind: 'workflow' | 'task' | 'handler', name, version}

function choiceLabel(c) {
  const kinds = { workflow: 'workflow', task: 'task definition', handler: 'event handler',
                  schedule: 'schedule' };
  return `${kinds[c.kind]} ${c.name}${c.version ? ` (latest: v${c.version})` : ''}`;
}

function renderChoices() {
  const filter = document.getElementById('new-filter').value.trim().toLowerCase();
  const list = document.getElementById('new-choices');
  const checked = new Set([...list.querySelectorAll('input:checked')].map((i) => i.value));
  list.replaceChildren();
  choices.forEach((c, i) => {
    const key = `${c.kind}:${c.name}`;
    if (filter && !c.name.toLowerCase().includes(filter) && !checked.has(key)) return;
    const li = document.createElement('li');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.id = `choice-${i}`;
    box.value = key;
    box.checked = checked.has(key);
    const label = document.createElement('label');
    label.htmlFor = box.id;
    label.textContent = choiceLabel(c);
    li.append(box, label);
    list.appendChild(li);
  });
  if (!list.children.length) {
    const li = document.createElement('li');
    li.textContent = choices.length ? 'Nothing matches the filter' : 'This orchestrator holds no definitions';
    list.appendChild(li);
  }
}

async function showNewMigration() {
  const [envs, workflows, taskDefs, handlers, schedules] = await Promise.all([
    api('GET', '/api/cmig/environments'),
    api('GET', '/api/metadata/workflow/names-and-versions'),
    api('GET', '/api/metadata/taskdefs'),
    api('GET', '/api/event'),
    // A server without a scheduler has no schedules to choose.
    api('GET', '/api/scheduler/schedules').catch(() => []),
  ]);
  const target = document.getElementById('new-target');
  const previous = target.value;
  target.replaceChildren();
  for (const e of envs || []) {
    const option = document.createElement('option');
    option.value = e.id;
    option.textContent = `${e.id} (${e.address})`;
    target.appendChild(option);
  }
  if (previous) target.value = previous;
  if (!target.options.length) show('Add an environment to migrate to first (Environments).', true);
  choices = [];
  for (const [name, versions] of Object.entries(workflows || {}).sort()) {
    if (ownDefinition(name)) continue;
    const latest = Math.max(...versions.map((v) => v.version || 0));
    choices.push({ kind: 'workflow', name, version: latest });
  }
  for (const t of (taskDefs || []).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!ownDefinition(t.name)) choices.push({ kind: 'task', name: t.name });
  }
  for (const h of (handlers || []).sort((a, b) => a.name.localeCompare(b.name))) {
    choices.push({ kind: 'handler', name: h.name });
  }
  for (const s of (schedules || []).sort((a, b) => a.name.localeCompare(b.name))) {
    // A recurring migration's own schedule is not metadata to migrate.
    if (!ownDefinition((s.startWorkflowRequest || {}).name || '')) {
      choices.push({ kind: 'schedule', name: s.name });
    }
  }
  renderChoices();
}

// The selection and options the form describes, as POST /api/cmig/migrations takes them.
function newMigrationRequest() {
  const selection = { workflows: [], taskDefs: [], eventHandlers: [], schedules: [] };
  for (const box of document.querySelectorAll('#new-choices input:checked')) {
    const [kind, ...rest] = box.value.split(':');
    const name = rest.join(':');
    if (kind === 'workflow') selection.workflows.push({ name });
    else if (kind === 'task') selection.taskDefs.push(name);
    else if (kind === 'schedule') selection.schedules.push(name);
    else selection.eventHandlers.push(name);
  }
  if (!selection.workflows.length && !selection.taskDefs.length && !selection.eventHandlers.length &&
      !selection.schedules.length) {
    throw new Error('Choose at least one workflow, task definition, event handler or schedule.');
  }
  const options = {
    conflictStrategy: document.getElementById('new-conflict').value,
    versionStrategy: document.getElementById('new-version').value,
    onBlocked: document.getElementById('new-blocked').value,
    skipDiscovery: !document.getElementById('new-discovery').checked,
    includeSecrets: document.getElementById('new-secrets').checked,
    dryRun: document.getElementById('new-dry-run').checked,
  };
  return { targetEnvironment: document.getElementById('new-target').value, selection, options };
}

function referrerText(r) {
  if (!r) return '';
  return `${r.workflowName} v${r.workflowVersion || '?'}${r.taskReferenceName ? ` (task ${r.taskReferenceName})` : ''}`;
}

// "workflow:order_flow:3" -> "sub-workflow or task of order_flow v3"
function discoveredText(item, kind) {
  if (item.requested) return 'selected';
  const [fromKind, name, version] = (item.discoveredFrom || '').split(':');
  const from = fromKind === 'event_handler' ? `event handler ${name}`
    : fromKind === 'schedule' ? `schedule ${name}` : `${name} v${version}`;
  const what = { workflow: 'sub-workflow (or started by)', task: 'task definition used by',
                 handler: 'listens on an event published by', schedule: 'starts' }[kind];
  return `${what} ${from}`;
}

async function previewMigration() {
  const request = newMigrationRequest();
  const preview = await api('POST', '/api/cmig/discovery',
                            { selection: request.selection, options: request.options });
  const body = document.querySelector('#preview-table tbody');
  body.replaceChildren();
  for (const [kind, items] of [['workflow', preview.workflows], ['task', preview.taskDefs],
                               ['handler', preview.eventHandlers],
                               ['schedule', preview.schedules]]) {
    for (const item of items || []) {
      const row = document.createElement('tr');
      cell(row, { workflow: 'workflow', task: 'task definition', handler: 'event handler',
                  schedule: 'schedule' }[kind]);
      cell(row, item.name);
      cell(row, item.version);
      cell(row, discoveredText(item, kind));
      body.appendChild(row);
    }
  }
  const deps = document.getElementById('preview-dependencies');
  deps.replaceChildren();
  const report = preview.dependencies || {};
  for (const d of report.dependencies || []) {
    const li = document.createElement('li');
    const kind = (d.kind || '').replace('DEPENDENCY_KIND_', '').toLowerCase().replaceAll('_', ' ');
    const who = (d.referencedBy || []).map(referrerText).join(', ');
    li.textContent = `${kind} ${d.name}${who ? `, used by ${who}` : ''}`;
    deps.appendChild(li);
  }
  for (const u of report.unresolved || []) {
    const li = document.createElement('li');
    li.className = 'error';
    const kind = (u.kind || '').replace('UNRESOLVED_KIND_', '').toLowerCase().replaceAll('_', ' ');
    li.textContent = `unresolved (${kind}): ${u.name || u.detail || ''}, referenced by ` +
      referrerText(u.referencedBy);
    deps.appendChild(li);
  }
  if (!deps.children.length) {
    const li = document.createElement('li');
    li.textContent = 'Nothing: every reference resolves within the migration.';
    deps.appendChild(li);
  }
  document.getElementById('preview').hidden = false;
  show(`The migration would carry ${body.children.length} definitions.`);
}

async function startMigration() {
  const request = newMigrationRequest();
  const what = request.options.dryRun ? 'a dry run (nothing changes)' : 'a migration';
  if (!window.confirm(`Start ${what} to ${request.targetEnvironment}?`)) return;
  request.startedBy = 'console';
  const r = await api('POST', '/api/cmig/migrations', request);
  show(`Started ${r.workflowId}.`);
  location.hash = `#/migration/${encodeURIComponent(r.workflowId)}`;
}

// --- One migration's report: the plan (or what was applied), item by item. ---

// The report as `migrationctl status` finds it: in the workflow's output (whole, or stored in the
// package store when large), else, for a migration that failed, in the output of the latest
// step attempt that reported.
async function migrationReport(wf) {
  const read = async (value) => {
    if (value && typeof value === 'object') return value;
    if (typeof value === 'string' && value.startsWith('sha256:')) {
      return api('GET', `/api/cmig/packages/${encodeURIComponent(value.slice('sha256:'.length))}`);
    }
    return null;
  };
  const output = wf.output || {};
  // A full report stored under a reference comes before the summary that travels inline.
  for (const key of ['reportRef', 'report', 'incomingReportRef', 'incomingReport']) {
    const report = await read(output[key]);
    if (report) return report;
  }
  const attempts = [...(wf.tasks || [])].sort((a, b) => (b.seq || 0) - (a.seq || 0));
  for (const t of attempts) {
    const out = t.outputData || {};
    const report = await read(out.reportRef) || await read(out.report);
    if (report) return report;
  }
  return null;
}

function renderReport(report) {
  const table = document.getElementById('report-table');
  const body = table.querySelector('tbody');
  body.replaceChildren();
  table.hidden = !report || !(report.items || []).length;
  if (table.hidden) return;
  for (const item of report.items) {
    const row = document.createElement('tr');
    cell(row, (item.kind || '').replace('ITEM_KIND_', '').toLowerCase().replaceAll('_', ' '));
    cell(row, item.name);
    const versions = item.sourceVersion || item.targetVersion
      ? `${item.sourceVersion || '-'} → ${item.targetVersion || '-'}` : '';
    cell(row, versions);
    const action = (item.status || '').replace('ITEM_ACTION_', '');
    cell(row, action, `action-${action}`);
    const details = document.createElement('td');
    const lines = [];
    for (const d of item.differences || []) lines.push(`${d.path}: ${d.target ?? ''} → ${d.package ?? ''}`);
    if (item.moreDifferences) lines.push(`and ${item.moreDifferences} more differences`);
    for (const m of item.messages || []) lines.push(m);
    if (lines.length) {
      const list = document.createElement('ul');
      for (const line of lines) {
        const li = document.createElement('li');
        li.textContent = line;
        list.appendChild(li);
      }
      details.appendChild(list);
    } else {
      details.textContent = '-';
    }
    row.appendChild(details);
    body.appendChild(row);
  }
}

// --- Packages: a migration's package downloaded; a package file uploaded, checked, imported. ---

function packageRefOf(wf) {
  const built = (wf.tasks || []).filter((t) => t.referenceTaskName === 'build_package' &&
                                               t.status === 'COMPLETED');
  const ref = built.length ? (built[built.length - 1].outputData || {}).packageRef : '';
  return typeof ref === 'string' && ref.startsWith('sha256:') ? ref.slice('sha256:'.length) : '';
}

async function downloadPackage() {
  const wf = shownMigration;
  const digest = wf && packageRefOf(wf);
  if (!digest) return;
  await run(async () => {
    const blob = await api('GET', `/api/cmig/packages/${encodeURIComponent(digest)}`, undefined, true);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `${wf.workflowId}.cmigpkg.json`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    show(`Downloaded the package of ${wf.workflowId} (${blob.size} bytes).`);
  });
}

let inspectedDigest = '';

async function uploadPackage(file) {
  inspectedDigest = '';
  document.getElementById('package-inspection').hidden = true;
  const stored = await api('POST', '/api/cmig/packages', await file.arrayBuffer());
  const p = await api('POST', `/api/cmig/packages/${stored.digest}/inspect`);
  inspectedDigest = stored.digest;
  const summary = document.getElementById('package-summary');
  const options = p.options || {};
  describe(summary, [
    ['File', `${file.name} (${file.size} bytes)`],
    ['Package digest', p.digest],
    ['Exported from', p.sourceEnvironment],
    ['Created', p.createdAt],
    ['Options', `conflicts: ${enumText(options.conflictStrategy, 'CONFLICT_STRATEGY_') || 'fail'}, ` +
                `versions: ${enumText(options.versionStrategy, 'VERSION_STRATEGY_') || 'preserve'}` +
                `${options.dryRun ? ', dry run' : ''}`],
    ['Secret values', p.containsSecretValues ? `carried for ${p.secretNames.join(', ')}` : 'none'],
  ]);
  const body = document.querySelector('#package-items tbody');
  body.replaceChildren();
  for (const item of p.items || []) {
    const row = document.createElement('tr');
    cell(row, enumText(item.kind, 'ITEM_KIND_'));
    cell(row, item.name);
    cell(row, item.version);
    body.appendChild(row);
  }
  document.getElementById('package-inspection').hidden = false;
  show(`The package checks out: ${(p.items || []).length} items, digest ${p.digest}.`);
}

async function importPackage() {
  if (!inspectedDigest || !window.confirm('Import this package into this orchestrator? Its ' +
      'definitions are planned against what this orchestrator holds, with the options the package ' +
      'records, and applied unless the plan is blocked.')) {
    return;
  }
  await run(async () => {
    const r = await api('POST', `/api/cmig/packages/${inspectedDigest}/import`, { startedBy: 'console' });
    show(`Started import ${r.workflowId}.`);
    location.hash = `#/migration/${encodeURIComponent(r.workflowId)}`;
  });
}

async function showEnvironments() {
  const envs = await api('GET', '/api/cmig/environments');
  const body = document.querySelector('#environments-table tbody');
  body.replaceChildren();
  for (const e of envs || []) {
    const row = document.createElement('tr');
    cell(row, e.id);
    cell(row, e.address);
    cell(row, e.tokenSecret ? `token in secret ${e.tokenSecret}`
      : e.accessKeyId ? `access key ${e.accessKeyId}` : 'none');
    const actions = document.createElement('td');
    const test = document.createElement('button');
    test.type = 'button';
    test.textContent = `Test ${e.id}`;
    test.addEventListener('click', () => testEnvironment(e.id));
    actions.appendChild(test);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = `Remove ${e.id}`;
    remove.addEventListener('click', () => removeEnvironment(e.id));
    actions.appendChild(remove);
    row.appendChild(actions);
    body.appendChild(row);
  }
}

// --- Schedules: what runs when, and how the latest runs went. ---

async function showSchedules() {
  const schedules = await api('GET', '/api/scheduler/schedules');
  const body = document.querySelector('#schedules-table tbody');
  body.replaceChildren();
  for (const s of schedules || []) {
    const request = s.startWorkflowRequest || {};
    const row = document.createElement('tr');
    cell(row, s.name);
    cell(row, s.cronExpression);
    cell(row, s.zoneId || 'UTC');
    cell(row, request.name);
    cell(row, (request.input || {}).targetEnvironment);
    cell(row, s.nextRunTime ? when(s.nextRunTime) : '');
    cell(row, s.paused ? `paused${s.pausedReason ? `: ${s.pausedReason}` : ''}` : 'active',
         s.paused ? 'status-PAUSED' : 'status-RUNNING');
    const actions = document.createElement('td');
    const toggle = document.createElement('button');
    toggle.type = 'button';
    toggle.textContent = `${s.paused ? 'Resume' : 'Pause'} ${s.name}`;
    toggle.addEventListener('click', () => run(async () => {
      const action = s.paused ? 'resume' : 'pause?reason=paused%20from%20the%20console';
      await api('PUT', `/api/scheduler/schedules/${encodeURIComponent(s.name)}/${action}`);
      show(`${s.paused ? 'Resumed' : 'Paused'} schedule ${s.name}.`);
      await showSchedules();
    }));
    actions.appendChild(toggle);
    row.appendChild(actions);
    body.appendChild(row);
  }
  if (!body.children.length) {
    const row = document.createElement('tr');
    cell(row, 'No schedules yet').colSpan = 8;
    body.appendChild(row);
  }
  const params = new URLSearchParams({ start: '0', size: '50' });
  const found = await api('GET', `/api/scheduler/search/executions?${params}`);
  const runs = document.querySelector('#schedule-runs-table tbody');
  runs.replaceChildren();
  for (const r of (found && found.results) || []) {
    const row = document.createElement('tr');
    cell(row, r.scheduleName);
    cell(row, when(r.scheduledTime));
    cell(row, when(r.executionTime));
    cell(row, r.state, `status-${r.state === 'EXECUTED' ? 'COMPLETED' : r.state}`);
    const migration = document.createElement('td');
    if (r.workflowId && r.workflowName === 'outgoing_migration_request') {
      const link = document.createElement('a');
      link.href = `#/migration/${encodeURIComponent(r.workflowId)}`;
      link.textContent = r.workflowId;
      migration.appendChild(link);
    } else {
      migration.textContent = r.workflowId || '-';
    }
    row.appendChild(migration);
    cell(row, r.reason);
    runs.appendChild(row);
  }
  if (!runs.children.length) {
    const row = document.createElement('tr');
    cell(row, 'No runs yet').colSpan = 6;
    runs.appendChild(row);
  }
  // Looked at again every two seconds while shown, as runs come.
  clearTimeout(schedulesTimer);
  schedulesTimer = setTimeout(() => {
    if (!document.getElementById('schedules').hidden) run(showSchedules);
  }, 2000);
}

let schedulesTimer = 0;

async function showSecrets() {
  const names = await api('GET', '/api/secrets');
  const list = document.getElementById('secrets-list');
  list.replaceChildren();
  for (const name of names || []) {
    const li = document.createElement('li');
    li.append(`${name} `);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = `Delete secret ${name}`;
    remove.addEventListener('click', async () => {
      if (!window.confirm(`Delete secret ${name}? Environments and migrations that read it fail until it is set again.`)) return;
      await run(async () => {
        await api('DELETE', `/api/secrets/${encodeURIComponent(name)}`);
        show(`Deleted secret ${name}.`);
        await showSecrets();
      });
    });
    li.appendChild(remove);
    list.appendChild(li);
  }
  if (!list.children.length) {
    const li = document.createElement('li');
    li.textContent = 'No secrets yet';
    list.appendChild(li);
  }
}

async function testEnvironment(id) {
  show(`Testing environment ${id}...`);
  await run(async () => {
    const r = await api('POST', `/api/cmig/environments/${encodeURIComponent(id)}/test`);
    show(`Environment ${r.environment}: reachable over ${r.protocol}, credential accepted.`);
  });
}

async function removeEnvironment(id) {
  if (!window.confirm(`Remove environment ${id}? Migrations to it can no longer be started.`)) return;
  await run(async () => {
    await api('DELETE', `/api/cmig/environments/${encodeURIComponent(id)}`);
    show(`Removed environment ${id}.`);
    await showEnvironments();
  });
}

const SECTIONS = { '#/migrations': ['migrations', showMigrations],
                   '#/new': ['new', showNewMigration],
                   '#/environments': ['environments', async () => {
                     await showEnvironments();
                     await showSecrets();
                   }],
                   '#/packages': ['packages', async () => {}],
                   '#/schedules': ['schedules', showSchedules] };

async function run(work) {
  try {
    await work();
  } catch (e) {
    if (e instanceof SignedOut) {
      sessionStorage.removeItem(TOKEN_KEY);
      route();
      show('The server did not accept the token: sign in again.', true);
    } else {
      show(e.message, true);
    }
  }
}

function route() {
  const signedIn = token() !== '';
  document.getElementById('sign-in').hidden = signedIn;
  document.getElementById('nav').hidden = !signedIn;
  const prefix = '#/migration/';
  let [id, load] = SECTIONS[location.hash] || SECTIONS['#/migrations'];
  if (location.hash.startsWith(prefix)) {
    const workflowId = decodeURIComponent(location.hash.slice(prefix.length));
    [id, load] = ['migration', () => showMigration(workflowId)];
  }
  for (const other of ['migrations', 'new', 'environments', 'packages', 'schedules',
                       'migration']) {
    document.getElementById(other).hidden = !signedIn || other !== id;
  }
  for (const [other] of Object.values(SECTIONS)) {
    const nav = document.getElementById(`nav-${other}`);
    if (other === id) nav.setAttribute('aria-current', 'page');
    else nav.removeAttribute('aria-current');
  }
  if (signedIn) run(load);
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('sign-in-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = document.getElementById('token');
    sessionStorage.setItem(TOKEN_KEY, input.value);
    input.value = '';
    show('');
    route();
  });
  document.getElementById('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    show('Signed out.');
    route();
  });
  document.getElementById('migration-retry').addEventListener('click', retryMigration);
  document.getElementById('migration-restart').addEventListener('click', restartMigration);
  document.getElementById('migration-download').addEventListener('click', downloadPackage);
  document.getElementById('package-import').addEventListener('click', importPackage);
  document.getElementById('package-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = ev.target.elements.file.files[0];
    if (file) run(() => uploadPackage(file));
  });
  for (const id of ['filter-status', 'filter-target', 'filter-since']) {
    document.getElementById(id).addEventListener('input', () => run(showMigrations));
  }
  document.getElementById('migrations-filter').addEventListener('submit', (ev) => ev.preventDefault());
  document.getElementById('migration-apply').addEventListener('click', applyDryRun);
  document.getElementById('migration-terminate').addEventListener('click', terminateMigration);
  document.getElementById('new-filter').addEventListener('input', renderChoices);
  document.getElementById('new-preview').addEventListener('click', () => run(previewMigration));
  document.getElementById('new-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(startMigration);
  });
  document.getElementById('secret-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const name = form.elements.name.value.trim();
    const value = form.elements.value.value;
    run(async () => {
      await api('PUT', `/api/secrets/${encodeURIComponent(name)}`, value);
      form.reset();
      show(`Set secret ${name}.`);
      await showSecrets();
    });
  });
  document.getElementById('environment-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const id = form.elements.id.value.trim();
    const env = { id, address: form.elements.address.value.trim() };
    if (form.elements.tokenSecret.value.trim()) env.tokenSecret = form.elements.tokenSecret.value.trim();
    run(async () => {
      await api('PUT', `/api/cmig/environments/${encodeURIComponent(id)}`, env);
      form.reset();
      show(`Added environment ${id}.`);
      await showEnvironments();
    });
  });
  window.addEventListener('hashchange', route);
  route();
});
