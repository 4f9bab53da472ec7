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
  for (const other of ['migrations', 'environments', 'migration']) {
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
