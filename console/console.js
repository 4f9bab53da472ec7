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
async function api(method, path, body) {
  const headers = { 'X-Authorization': token() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit', cache: 'no-store',
  });
  const text = await resp.text();
  if (resp.status === 401 || resp.status === 403) throw new SignedOut();
  if (!resp.ok) {
    let why = text;
    try { why = JSON.parse(text).message || text; } catch (e) { /* not JSON */ }
    throw new Error(`${method} ${path}: ${resp.status} ${why}`);
  }
  return text ? JSON.parse(text) : null;
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
  return parts.join(', ');
}

function parseJson(text) {
  try { return JSON.parse(text || '{}'); } catch (e) { return {}; }
}

async function showMigrations() {
  const query = new URLSearchParams({
    start: '0', size: '50', sort: 'startTime:DESC', freeText: '*',
    query: "workflowType = 'outgoing_migration_request'",
  });
  const found = await api('GET', `/api/workflow/search?${query}`);
  const body = document.querySelector('#migrations-table tbody');
  body.replaceChildren();
  for (const s of (found && found.results) || []) {
    const input = parseJson(s.input);
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
    cell(row, s.reasonForIncompletion);
    body.appendChild(row);
  }
  if (!body.children.length) {
    const row = document.createElement('tr');
    cell(row, 'No migrations yet').colSpan = 7;
    body.appendChild(row);
  }
}

function when(ms) { return ms ? new Date(ms).toISOString() : ''; }

function took(start, end) {
  if (!start) return '';
  const ms = (end || Date.now()) - start;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

let shownMigration = null;

async function showMigration(id) {
  const wf = await api('GET', `/api/workflow/${encodeURIComponent(id)}?includeTasks=true`);
  shownMigration = wf;
  const summary = document.getElementById('migration-summary');
  summary.replaceChildren();
  const input = wf.input || {};
  for (const [term, value] of [
    ['Workflow', `${wf.workflowName || ''} ${wf.workflowId}`],
    ['Status', wf.status],
    ['Source → target', `${input.sourceEnvironment || '?'} → ${input.targetEnvironment || '?'}`],
    ['Selection', selectionText(input.selection)],
    ['Started by', input.startedBy],
    ['Started', when(wf.startTime)],
    ['Reason', wf.reasonForIncompletion],
  ]) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value || '-';
    if (term === 'Status') dd.className = `status-${value}`;
    summary.append(dt, dd);
  }
  const ended = !['RUNNING', 'PAUSED'].includes(wf.status);
  const options = input.options || {};
  document.getElementById('migration-apply').hidden = !(options.dryRun && wf.status === 'COMPLETED');
  document.getElementById('migration-retry').disabled = !ended || wf.status === 'COMPLETED';
  document.getElementById('migration-terminate').disabled = ended;
  const body = document.querySelector('#steps-table tbody');
  body.replaceChildren();
  const tasks = [...(wf.tasks || [])].sort((a, b) => (a.seq || 0) - (b.seq || 0));
  for (const t of tasks) {
    const row = document.createElement('tr');
    cell(row, t.referenceTaskName);
    cell(row, t.taskType);
    cell(row, t.status, `status-${t.status}`);
    cell(row, t.retryCount || 0);
    cell(row, t.workerId);
    cell(row, when(t.startTime));
    cell(row, t.startTime ? took(t.startTime, t.endTime) : '');
    cell(row, t.reasonForIncompletion);
    body.appendChild(row);
  }
  renderReport(ended ? await migrationReport(wf) : null);
  // A running migration is looked at again each second while its page is shown.
  clearTimeout(migrationTimer);
  if (!ended) {
    migrationTimer = setTimeout(() => {
      if (location.hash === `#/migration/${encodeURIComponent(id)}`) run(() => showMigration(id));
    }, 1000);
  }
}

let migrationTimer = 0;

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

async function retryMigration() {
  const wf = shownMigration;
  if (!wf || !window.confirm(`Retry ${wf.workflowId}? Its failed steps run again; a migration ` +
                             'whose target plan failed plans again against the target as it is now.')) {
    return;
  }
  await run(async () => {
    await api('POST', `/api/workflow/${encodeURIComponent(wf.workflowId)}/retry`);
    show(`Retried ${wf.workflowId}.`);
    await showMigration(wf.workflowId);
  });
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
  const kinds = { workflow: 'workflow', task: 'task definition', handler: 'event handler' };
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
  const [envs, workflows, taskDefs, handlers] = await Promise.all([
    api('GET', '/api/cmig/environments'),
    api('GET', '/api/metadata/workflow/names-and-versions'),
    api('GET', '/api/metadata/taskdefs'),
    api('GET', '/api/event'),
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
  renderChoices();
}

// The selection and options the form describes, as POST /api/cmig/migrations takes them.
function newMigrationRequest() {
  const selection = { workflows: [], taskDefs: [], eventHandlers: [] };
  for (const box of document.querySelectorAll('#new-choices input:checked')) {
    const [kind, ...rest] = box.value.split(':');
    const name = rest.join(':');
    if (kind === 'workflow') selection.workflows.push({ name });
    else if (kind === 'task') selection.taskDefs.push(name);
    else selection.eventHandlers.push(name);
  }
  if (!selection.workflows.length && !selection.taskDefs.length && !selection.eventHandlers.length) {
    throw new Error('Choose at least one workflow, task definition or event handler.');
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
  const from = fromKind === 'event_handler' ? `event handler ${name}` : `${name} v${version}`;
  const what = { workflow: 'sub-workflow (or started by)', task: 'task definition used by',
                 handler: 'listens on an event published by' }[kind];
  return `${what} ${from}`;
}

async function previewMigration() {
  const request = newMigrationRequest();
  const preview = await api('POST', '/api/cmig/discovery',
                            { selection: request.selection, options: request.options });
  const body = document.querySelector('#preview-table tbody');
  body.replaceChildren();
  for (const [kind, items] of [['workflow', preview.workflows], ['task', preview.taskDefs],
                               ['handler', preview.eventHandlers]]) {
    for (const item of items || []) {
      const row = document.createElement('tr');
      cell(row, { workflow: 'workflow', task: 'task definition', handler: 'event handler' }[kind]);
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

async function migrationReport(wf) {
  const output = wf.output || {};
  if (output.incomingReport) return output.incomingReport;
  const ref = output.incomingReportRef || '';
  if (!ref.startsWith('sha256:')) return null;
  return api('GET', `/api/cmig/packages/${encodeURIComponent(ref.slice('sha256:'.length))}`);
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
                   '#/environments': ['environments', showEnvironments] };

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
  for (const other of ['migrations', 'new', 'environments', 'migration']) {
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
  document.getElementById('migrations-refresh').addEventListener('click', () => run(showMigrations));
  document.getElementById('migration-retry').addEventListener('click', retryMigration);
  document.getElementById('migration-apply').addEventListener('click', applyDryRun);
  document.getElementById('migration-terminate').addEventListener('click', terminateMigration);
  document.getElementById('new-filter').addEventListener('input', renderChoices);
  document.getElementById('new-preview').addEventListener('click', () => run(previewMigration));
  document.getElementById('new-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run(startMigration);
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
