#!/usr/bin/env python3
"""The migration console in a real browser (Debian's chromium, driven by selenium) against a
real orchestrator process: signing in with a wrong and then the right token, the migrations list
showing a migration started over REST, adding and removing an environment, and a migration to a
second environment started from the new-migration form (preview, dry run with its plan and
differences, applied as approved), checked back over the REST API with urllib (a client the
console does not share). Screenshots are saved
under BUILD/console-screenshots/. Usage: console_browser_test.py ROOT BUILD"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT, BUILD = sys.argv[1], sys.argv[2]
TOKEN = os.urandom(12).hex()
SHOTS = os.path.join(BUILD, 'console-screenshots')


class ServingPorts:
    """Reads the orchestrator's log as it writes it (into log_path) and learns the ports it says it
    serves on; wait() returns them, or fails past its deadline."""

    def __init__(self, stream, log_path):
        self._ports = {}
        self._ready = threading.Event()
        threading.Thread(target=self._read, args=(stream, log_path), daemon=True).start()

    def _read(self, stream, log_path):
        with open(log_path, 'w') as log:
            for line in stream:
                log.write(line)
                log.flush()
                for kind, pattern in (('http', r"REST API on port (\d+)"),
                                      ('grpc', r'serving on port (\d+)')):
                    m = re.search(pattern, line)
                    if m:
                        self._ports[kind] = m.group(1)
                if len(self._ports) == 2:
                    self._ready.set()

    def wait(self):
        if not self._ready.wait(timeout=30):
            raise SystemExit('FAIL: the orchestrator did not start serving')
        return self._ports['grpc'], self._ports['http']


def rest(base, method, path, body=None, token=TOKEN):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header('X-Authorization', token)
    if data is not None:
        req.add_header('Content-Type', 'application/json')
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
        return resp, (json.loads(text) if text.strip().startswith(('{', '[')) else text)


def shown_status(driver):
    """The Status the open migration page shows (None while it is being drawn again)."""
    try:
        found = driver.find_elements(
            By.XPATH, "//dl[@id='migration-summary']/dt[text()='Status']/following-sibling::dd[1]")
        return found[0].text if found else None
    except StaleElementReferenceException:
        return None


def main():
    work = tempfile.mkdtemp()
    os.makedirs(SHOTS, exist_ok=True)
    with open(os.path.join(work, 'tokens'), 'w') as f:
        f.write(TOKEN + '\n')
    orch = subprocess.Popen(
        [os.path.join(BUILD, 'orchestrator', 'orchestrator'), f'--db={work}/o.db',
         '--listen=127.0.0.1:0', '--http_listen=127.0.0.1:0', f'--tokens_file={work}/tokens'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    serving = ServingPorts(orch.stdout, os.path.join(work, 'orchestrator.log'))
    driver = None
    workers = []
    try:
        grpc_port, http_port = serving.wait()
        grpc = f'127.0.0.1:{grpc_port}'
        base = f'http://127.0.0.1:{http_port}'
        ctl = [os.path.join(BUILD, 'cli', 'migrationctl')]
        env = dict(os.environ, CMIG_SERVER=grpc, CMIG_TOKEN=TOKEN)
        # The migration workflows, so that a migration can start (no worker runs it here).
        subprocess.run(ctl + ['definitions', 'load', os.path.join(ROOT, 'workflows')], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        rest(base, 'PUT', '/api/cmig/environments/B', {'address': 'http://127.0.0.1:9/api'})
        _, started = rest(base, 'POST', '/api/cmig/migrations', {
            'targetEnvironment': 'B', 'startedBy': 'console-test',
            'selection': {'workflows': [{'name': 'order_flow'}]}})
        migration_id = started['workflowId']

        # The page is served with a policy that keeps it to its own files and this server.
        resp, _ = rest(base, 'GET', '/console/', token='')
        csp = resp.headers['Content-Security-Policy']
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp

        opts = webdriver.ChromeOptions()
        opts.binary_location = '/usr/bin/chromium'
        for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
                    '--window-size=1280,900'):
            opts.add_argument(arg)
        downloads = os.path.join(work, 'downloads')
        os.makedirs(downloads)
        opts.add_experimental_option('prefs', {'download.default_directory': downloads,
                                               'download.prompt_for_download': False})
        driver = webdriver.Chrome(service=Service('/usr/bin/chromedriver'), options=opts)
        driver.execute_cdp_cmd('Page.setDownloadBehavior',
                               {'behavior': 'allow', 'downloadPath': downloads})
        # Pages that follow a running migration or the list draw themselves again: an element
        # found just before that is stale, and is looked for again.
        wait = WebDriverWait(driver, 20, ignored_exceptions=[StaleElementReferenceException])
        driver.get(base + '/console/')
        wait.until(ec.visibility_of_element_located((By.ID, 'sign-in')))
        driver.save_screenshot(os.path.join(SHOTS, '01-sign-in.png'))

        # A wrong token is refused and the page asks again.
        driver.find_element(By.ID, 'token').send_keys('not-the-token')
        driver.find_element(By.CSS_SELECTOR, '#sign-in-form button').click()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'message'), 'did not accept'))
        assert driver.find_element(By.ID, 'sign-in').is_displayed()

        driver.find_element(By.ID, 'token').send_keys(TOKEN)
        driver.find_element(By.CSS_SELECTOR, '#sign-in-form button').click()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'migrations-table'), migration_id))
        # The list is drawn again every two seconds: read a row whole, or again.
        cells = wait.until(lambda d: [td.text for td in d.find_element(
            By.XPATH, f"//tr[td/a[text()='{migration_id}']]").find_elements(By.TAG_NAME, 'td')])
        assert cells[1] == 'RUNNING', cells
        assert cells[3] == 'local → B', cells
        assert cells[4] == 'order_flow', cells
        assert cells[5] == 'console-test', cells
        driver.save_screenshot(os.path.join(SHOTS, '02-migrations.png'))
        # The token is in this tab's session storage only: not in the address, not a cookie.
        assert TOKEN not in driver.current_url
        assert driver.execute_script('return document.cookie') == ''
        assert driver.execute_script("return sessionStorage.getItem('cmigToken')") == TOKEN

        # One migration's page: its steps (no worker runs here: the first waits, SCHEDULED),
        # and Terminate, confirmed, ends it.
        wait.until(lambda d: d.find_element(By.LINK_TEXT, migration_id).click() or True)
        wait.until(ec.visibility_of_element_located((By.ID, 'migration')))
        wait.until(ec.text_to_be_present_in_element((By.ID, 'steps-table'), 'fetch'))
        # A running migration's page is drawn again each second: read what it shows whole, or again.
        step = wait.until(lambda d: [td.text for td in d.find_element(
            By.XPATH, "//table[@id='steps-table']//tr[td[text()='fetch']]").find_elements(
                By.TAG_NAME, 'td')])
        assert step[3] == 'SCHEDULED', step
        summary = wait.until(lambda d: d.find_element(By.ID, 'migration-summary').text)
        assert 'started by' in summary.lower(), summary
        driver.save_screenshot(os.path.join(SHOTS, '03-migration.png'))
        driver.find_element(By.ID, 'migration-terminate').click()
        driver.switch_to.alert.accept()
        wait.until(lambda d: shown_status(d) == 'TERMINATED')
        _, ended = rest(base, 'GET', f'/api/workflow/{migration_id}?includeTasks=false')
        assert ended['status'] == 'TERMINATED', ended['status']
        assert 'terminated from the console' in ended.get('reasonForIncompletion', ''), ended
        assert driver.find_element(By.ID, 'migration-retry').is_enabled()

        driver.find_element(By.ID, 'nav-environments').click()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'environments-table'), 'B'))
        # Testing an environment: B's address answers nothing; "self" is this server over
        # gRPC, with its token in a secret.
        driver.find_element(By.XPATH, "//button[text()='Test B']").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'message'), "environment 'B'"))
        assert 'error' in driver.find_element(By.ID, 'message').get_attribute('class')
        rest(base, 'PUT', '/api/secrets/self_token', TOKEN)
        rest(base, 'PUT', '/api/cmig/environments/self',
             {'address': grpc, 'tokenSecret': 'self_token'})
        driver.find_element(By.ID, 'nav-migrations').click()
        driver.find_element(By.ID, 'nav-environments').click()
        wait.until(ec.element_to_be_clickable((By.XPATH, "//button[text()='Test self']"))).click()
        wait.until(ec.text_to_be_present_in_element(
            (By.ID, 'message'), 'Environment self: reachable over gRPC, credential accepted.'))

        driver.find_element(By.ID, 'env-id').send_keys('prod')
        driver.find_element(By.ID, 'env-address').send_keys('https://prod.example.com/api')
        driver.find_element(By.ID, 'env-token-secret').send_keys('prod_token')
        driver.find_element(By.CSS_SELECTOR, '#environment-form button').click()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'environments-table'),
                                                    'token in secret prod_token'))
        driver.save_screenshot(os.path.join(SHOTS, '04-environments.png'))
        _, prod = rest(base, 'GET', '/api/cmig/environments/prod')
        assert prod['address'] == 'https://prod.example.com/api', prod
        assert prod['tokenSecret'] == 'prod_token', prod

        driver.find_element(By.XPATH, "//button[text()='Remove prod']").click()
        driver.switch_to.alert.accept()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'message'), 'Removed environment prod'))
        try:
            rest(base, 'GET', '/api/cmig/environments/prod')
            raise SystemExit('FAIL: the removed environment is still there')
        except urllib.error.HTTPError as e:
            assert e.code == 404, e.code
        # A second environment, prod, with its own orchestrator and worker; it holds the sample
        # set already, one workflow edited by hand there.
        orch_prod = subprocess.Popen(
            [os.path.join(BUILD, 'orchestrator', 'orchestrator'), f'--db={work}/prod.db',
             '--listen=127.0.0.1:0', '--http_listen=127.0.0.1:0', f'--tokens_file={work}/tokens'],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        workers.append(orch_prod)
        prod_grpc_port, prod_http_port = ServingPorts(
            orch_prod.stdout, os.path.join(work, 'prod-orchestrator.log')).wait()
        prod_grpc = f'127.0.0.1:{prod_grpc_port}'
        prod_base = f'http://127.0.0.1:{prod_http_port}'
        with open(os.path.join(work, 'token'), 'w') as f:
            f.write(TOKEN)
        for server, name in ((grpc, 'home'), (prod_grpc, 'prod')):
            worker = subprocess.Popen(
                [os.path.join(BUILD, 'worker', 'migration-worker'),
                 f'--workflows_dir={os.path.join(ROOT, "workflows")}'],
                env=dict(os.environ, CONDUCTOR_SERVER_URL=server,
                         CONDUCTOR_AUTH_TOKEN_FILE=os.path.join(work, 'token')),
                stdout=open(os.path.join(work, f'{name}-worker.log'), 'w'),
                stderr=subprocess.STDOUT)
            workers.append(worker)
        sample = os.path.join(ROOT, 'deploy/quickstart/sample')
        subprocess.run(ctl + ['definitions', 'load', sample], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(ctl + ['definitions', 'load', sample],
                       env=dict(env, CMIG_SERVER=prod_grpc), check=True, stdout=subprocess.DEVNULL)
        _, payment = rest(prod_base, 'GET', '/api/metadata/workflow/payment_flow?version=1')
        source_description = payment['description']
        payment['description'] = 'edited in prod by hand'
        rest(prod_base, 'PUT', '/api/metadata/workflow', [payment])
        # prod's token goes into this server's secret store from the Environments page; the
        # page lists the name and never shows the value.
        driver.find_element(By.ID, 'nav-environments').click()
        wait.until(ec.visibility_of_element_located((By.ID, 'secret-name'))).send_keys('prod_token')
        driver.find_element(By.ID, 'secret-value').send_keys(TOKEN)
        driver.find_element(By.CSS_SELECTOR, '#secret-form button').click()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'secrets-list'), 'prod_token'))
        assert TOKEN not in driver.page_source
        assert driver.find_element(By.ID, 'secret-value').get_attribute('value') == ''
        _, stored = rest(base, 'GET', '/api/secrets/prod_token')
        assert stored == TOKEN, 'the secret set from the page is not the value typed'
        rest(base, 'PUT', '/api/cmig/environments/prod',
             {'address': prod_grpc, 'tokenSecret': 'prod_token'})

        # The new-migration form: prod as the target, order_processing found by filtering, and
        # a preview of what discovery brings along and why, before anything starts.
        driver.find_element(By.ID, 'nav-new').click()
        target = wait.until(ec.visibility_of_element_located((By.ID, 'new-target')))
        wait.until(ec.text_to_be_present_in_element((By.ID, 'new-target'), 'prod'))
        Select(target).select_by_value('prod')
        driver.find_element(By.ID, 'new-filter').send_keys('order_proc')
        choice = wait.until(ec.element_to_be_clickable(
            (By.XPATH, "//ul[@id='new-choices']//label[starts-with(text(), "
                       "'workflow order_processing')]")))
        assert len(driver.find_elements(By.CSS_SELECTOR, '#new-choices li')) == 1
        choice.click()
        Select(driver.find_element(By.ID, 'new-conflict')).select_by_value('CONFLICT_STRATEGY_UPDATE')
        driver.find_element(By.ID, 'new-preview').click()
        wait.until(ec.visibility_of_element_located((By.ID, 'preview')))
        preview = {tuple(td.text for td in row.find_elements(By.TAG_NAME, 'td'))[1]:
                   [td.text for td in row.find_elements(By.TAG_NAME, 'td')]
                   for row in driver.find_elements(By.CSS_SELECTOR, '#preview-table tbody tr')}
        assert preview['order_processing'][3] == 'selected', preview
        assert 'order_processing v1' in preview['payment_flow'][3], preview
        assert preview['charge_payment'][0] == 'task definition', preview
        deps = driver.find_element(By.ID, 'preview-dependencies').text
        assert 'secret payment_gateway_key' in deps, deps
        driver.save_screenshot(os.path.join(SHOTS, '05-new-migration.png'))

        # Started as a dry run from the form: its page shows the plan item by item, with the
        # fields prod's copy differs in; then it is applied as approved.
        driver.find_element(By.ID, 'new-start').click()
        driver.switch_to.alert.accept()
        wait.until(ec.visibility_of_element_located((By.ID, 'migration')))
        dry_id = driver.current_url.rsplit('/', 1)[-1]
        WebDriverWait(driver, 60, ignored_exceptions=[StaleElementReferenceException]).until(
            ec.visibility_of_element_located((By.ID, 'report-table')))
        assert shown_status(driver) == 'COMPLETED'
        row = driver.find_element(
            By.XPATH, "//table[@id='report-table']//tr[td[text()='payment_flow']]")
        cells = [td.text for td in row.find_elements(By.TAG_NAME, 'td')]
        assert cells[3] == 'UPDATE', cells
        assert f'description: "edited in prod by hand" → "{source_description}"' in cells[4], cells
        driver.save_screenshot(os.path.join(SHOTS, '06-dry-run.png'))
        # The whole page, as README.md shows it.
        driver.set_window_size(1280, 2000)
        driver.save_screenshot(os.path.join(SHOTS, 'migration-page.png'))
        driver.set_window_size(1280, 900)
        _, dry = rest(base, 'GET', f'/api/workflow/{dry_id}?includeTasks=false')
        assert dry['input']['options']['dryRun'] is True, dry['input']
        assert dry['input']['startedBy'] == 'console', dry['input']

        driver.find_element(By.ID, 'migration-apply').click()
        driver.switch_to.alert.accept()
        wait.until(lambda d: dry_id not in d.current_url)
        WebDriverWait(driver, 60, ignored_exceptions=[StaleElementReferenceException]).until(lambda d: shown_status(d) == 'COMPLETED')
        driver.save_screenshot(os.path.join(SHOTS, '07-applied.png'))
        applied_id = driver.current_url.rsplit('/', 1)[-1]
        _, applied = rest(base, 'GET', f'/api/workflow/{applied_id}?includeTasks=false')
        assert applied['status'] == 'COMPLETED', applied['status']
        approval = applied['input']['options']['approvedPlan']
        assert approval['dryRunWorkflowId'] == dry_id, approval
        _, payment = rest(prod_base, 'GET', '/api/metadata/workflow/payment_flow?version=1')
        assert payment['description'] == source_description, payment['description']
        # A migration that fails: prod's shipping_flow was edited by hand, and the default
        # strategy refuses the conflict. Found through the list's filters, understood from its
        # page, fixed in prod and retried from the page.
        _, shipping = rest(prod_base, 'GET', '/api/metadata/workflow/shipping_flow?version=1')
        shipping_source = dict(shipping)
        shipping['description'] = 'edited in prod again'
        rest(prod_base, 'PUT', '/api/metadata/workflow', [shipping])
        _, failing = rest(base, 'POST', '/api/cmig/migrations', {
            'targetEnvironment': 'prod', 'startedBy': 'console-test',
            'selection': {'workflows': [{'name': 'order_processing'}]}})
        failed_id = failing['workflowId']
        WebDriverWait(driver, 60, poll_frequency=0.05,
                      ignored_exceptions=[StaleElementReferenceException]).until(
            lambda _: rest(base, 'GET', f'/api/workflow/{failed_id}?includeTasks=false')[1]['status']
            != 'RUNNING')
        driver.find_element(By.ID, 'nav-migrations').click()
        Select(wait.until(ec.visibility_of_element_located((By.ID, 'filter-status')))
               ).select_by_value('FAILED')

        def listed_statuses(_):
            cells = driver.find_elements(By.CSS_SELECTOR, '#migrations-table tbody td')
            return {c.text for c in cells[1::8]} if failed_id in [c.text for c in cells] else None
        # Only failed migrations once the filter applies (the others are still there unfiltered).
        wait.until(lambda d: listed_statuses(d) == {'FAILED'})
        driver.save_screenshot(os.path.join(SHOTS, '08-failed-filtered.png'))
        wait.until(lambda d: d.find_element(By.LINK_TEXT, failed_id).click() or True)
        wait.until(lambda d: shown_status(d) == 'FAILED')
        wait.until(ec.visibility_of_element_located((By.ID, 'report-table')))
        row = driver.find_element(
            By.XPATH, "//table[@id='report-table']//tr[td[text()='shipping_flow']]")
        cells = [td.text for td in row.find_elements(By.TAG_NAME, 'td')]
        assert cells[3] == 'CONFLICT', cells
        assert 'description: "edited in prod again"' in cells[4], cells
        facts = driver.find_element(By.ID, 'report-facts').text
        assert 'Blocking:' in facts and 'shipping_flow' in facts, facts
        # The incoming workflow in prod and its rollback, read through this server, on the same
        # timeline as the outgoing steps.
        summary_text = driver.find_element(By.ID, 'migration-summary').text
        assert 'Incoming workflow' in summary_text and 'in prod: FAILED' in summary_text, summary_text
        assert 'Rollback' in summary_text, summary_text
        timeline = [[td.text for td in tr.find_elements(By.TAG_NAME, 'td')[:4]]
                    for tr in driver.find_elements(By.CSS_SELECTOR, '#steps-table tbody tr')]
        assert ['incoming (prod)', 'plan', 'cmig_plan_migration', 'COMPLETED'] in timeline, timeline
        assert any(row[0] == 'rollback (prod)' and row[1] == 'restore' for row in timeline), timeline
        assert [row[0] for row in timeline].index('outgoing (here)') < \
            [row[0] for row in timeline].index('incoming (prod)'), timeline
        # A step's details: its output, and its logs read when opened.
        driver.find_element(By.XPATH, "//button[text()='Details of fetch']").click()
        details = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, 'tr.step-detail')))
        wait.until(lambda _: 'reading...' not in details.text and 'Logs' in details.text)
        assert 'Output of fetch' in details.text and 'definitionsRef' in details.text, details.text
        driver.save_screenshot(os.path.join(SHOTS, '09-failed.png'))

        rest(prod_base, 'PUT', '/api/metadata/workflow', [shipping_source])
        driver.find_element(By.ID, 'migration-retry').click()
        driver.switch_to.alert.accept()
        WebDriverWait(driver, 60, ignored_exceptions=[StaleElementReferenceException]).until(lambda d: shown_status(d) == 'COMPLETED')
        _, retried = rest(base, 'GET', f'/api/workflow/{failed_id}?includeTasks=false')
        assert retried['status'] == 'COMPLETED', retried['status']
        driver.save_screenshot(os.path.join(SHOTS, '10-retried.png'))
        # Restart runs it again from its first step, under the same id.
        _, before = rest(base, 'GET', f'/api/workflow/{failed_id}?includeTasks=true')
        first_fetch = before['tasks'][0]['taskId']
        driver.find_element(By.ID, 'migration-restart').click()
        driver.switch_to.alert.accept()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'message'), 'Restarted'))

        def restarted_and_done(_):
            _, wf = rest(base, 'GET', f'/api/workflow/{failed_id}?includeTasks=true')
            return wf if wf['status'] == 'COMPLETED' and wf['tasks'] and \
                wf['tasks'][0]['taskId'] != first_fetch else None
        restarted = WebDriverWait(driver, 60, poll_frequency=0.05).until(restarted_and_done)
        assert restarted['tasks'][0]['referenceTaskName'] == 'fetch'
        WebDriverWait(driver, 30, ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: shown_status(d) == 'COMPLETED')
        # Packages: the retried migration's package downloaded from its page, uploaded again,
        # inspected and imported into this orchestrator; the same file changed by hand is refused.
        driver.find_element(By.ID, 'migration-download').click()
        saved = os.path.join(downloads, f'{failed_id}.cmigpkg.json')
        WebDriverWait(driver, 30).until(lambda _: os.path.exists(saved) and
                                        os.path.getsize(saved) > 0)
        with open(saved) as f:
            package = json.load(f)
        assert len(package['items']) == 10, len(package['items'])
        driver.find_element(By.ID, 'nav-packages').click()
        wait.until(ec.visibility_of_element_located((By.ID, 'package-file'))).send_keys(saved)
        driver.find_element(By.CSS_SELECTOR, '#package-form button').click()
        wait.until(ec.visibility_of_element_located((By.ID, 'package-inspection')))
        assert package['digest'] in driver.find_element(By.ID, 'package-summary').text
        names = [tr.find_elements(By.TAG_NAME, 'td')[1].text
                 for tr in driver.find_elements(By.CSS_SELECTOR, '#package-items tbody tr')]
        assert 'order_processing' in names and len(names) == 10, names
        driver.save_screenshot(os.path.join(SHOTS, '11-package.png'))
        driver.find_element(By.ID, 'package-import').click()
        driver.switch_to.alert.accept()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'message'), 'Started import'))
        import_id = driver.current_url.rsplit('/', 1)[-1]
        WebDriverWait(driver, 60, ignored_exceptions=[StaleElementReferenceException]).until(
            lambda d: shown_status(d) == 'COMPLETED')
        _, imported = rest(base, 'GET', f'/api/workflow/{import_id}?includeTasks=false')
        assert imported['workflowName'] == 'incoming_migration_request', imported['workflowName']
        assert imported['input']['packageRef'] == f"sha256:{hashlib.sha256(open(saved, 'rb').read()).hexdigest()}"

        tampered = os.path.join(work, 'tampered.cmigpkg.json')
        with open(saved) as f:
            text = f.read()
        assert 'Charges an order' in text
        with open(tampered, 'w') as f:
            f.write(text.replace('Charges an order', 'Charges twice'))
        driver.find_element(By.ID, 'nav-packages').click()
        upload = wait.until(ec.visibility_of_element_located((By.ID, 'package-file')))
        upload.clear()
        upload.send_keys(tampered)
        driver.find_element(By.CSS_SELECTOR, '#package-form button').click()
        wait.until(ec.text_to_be_present_in_element((By.ID, 'message'), 'failed its checks'))
        assert 'error' in driver.find_element(By.ID, 'message').get_attribute('class')
        assert not driver.find_element(By.ID, 'package-inspection').is_displayed()
        # Refused, and not kept.
        with open(tampered, 'rb') as f:
            tampered_digest = hashlib.sha256(f.read()).hexdigest()
        try:
            rest(base, 'GET', f'/api/cmig/packages/{tampered_digest}')
            raise SystemExit('FAIL: the refused package was stored')
        except urllib.error.HTTPError as e:
            assert e.code == 404, e.code
        driver.save_screenshot(os.path.join(SHOTS, '12-tampered.png'))
        # The list shows each migration's package digest; at 200% zoom (half the width) the
        # pages need no sideways scrolling.
        driver.find_element(By.ID, 'nav-migrations').click()
        Select(wait.until(ec.visibility_of_element_located((By.ID, 'filter-status')))
               ).select_by_value('')
        digest = rest(
            base, 'GET', f'/api/workflow/{applied_id}?includeTasks=false')[1]['output']['packageDigest']
        wait.until(lambda d: d.find_element(
            By.XPATH, f"//tr[td/a[text()='{applied_id}']]/td[7]").get_attribute('title') == digest)
        # A schedule due every second, made over Conductor's scheduler API: the Schedules page
        # lists it and its runs, and pauses it.
        rest(base, 'POST', '/api/metadata/taskdefs',
             [{'name': 'beat', 'retryCount': 0, 'timeoutSeconds': 60,
               'responseTimeoutSeconds': 30}])
        rest(base, 'POST', '/api/metadata/workflow',
             {'name': 'heartbeat_flow', 'version': 1, 'schemaVersion': 2,
              'tasks': [{'name': 'beat', 'taskReferenceName': 'beat', 'type': 'SIMPLE'}]})
        rest(base, 'POST', '/api/scheduler/schedules',
             {'name': 'heartbeat', 'cronExpression': '* * * * * *', 'zoneId': 'Europe/Berlin',
              'startWorkflowRequest': {'name': 'heartbeat_flow'}})
        driver.find_element(By.ID, 'nav-schedules').click()
        wait.until(ec.visibility_of_element_located(
            (By.XPATH, "//table[@id='schedules-table']//tr[td[1][text()='heartbeat']]"
                       "[td[3][text()='Europe/Berlin']][td[7][text()='active']]")))

        def a_run_shown(d):  # the page looks again every two seconds
            rows = d.find_elements(
                By.XPATH, "//table[@id='schedule-runs-table']//tr[td[1][text()='heartbeat']]"
                          "[td[4][text()='EXECUTED']]")
            return len(rows) > 0
        wait.until(a_run_shown, 'the Schedules page shows a run of heartbeat')
        def pause_clicked(d):  # the table may be redrawn between finding and clicking
            try:
                d.find_element(By.XPATH, "//button[text()='Pause heartbeat']").click()
                return True
            except StaleElementReferenceException:
                return False
        wait.until(pause_clicked)
        wait.until(ec.visibility_of_element_located(
            (By.XPATH, "//table[@id='schedules-table']//tr[td[1][text()='heartbeat']]"
                       "[td[7][text()='paused: paused from the console']]")))
        schedule = rest(base, 'GET', '/api/scheduler/schedules/heartbeat')[1]
        assert schedule['paused'] and schedule['nextRunTime'] == 0, schedule
        driver.save_screenshot(os.path.join(SHOTS, '12b-schedules.png'))

        driver.set_window_size(640, 900)
        for page in ('#/migrations', f'#/migration/{failed_id}', '#/new', '#/environments',
                     '#/packages', '#/schedules'):
            driver.get(f'{base}/console/{page}')
            wait.until(lambda d: d.execute_script(
                "return [...document.querySelectorAll('main > section')].some(s => !s.hidden)"))
            overflow = driver.execute_script(
                'return document.documentElement.scrollWidth - document.documentElement.clientWidth')
            wide = driver.execute_script(
                "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('*')]"
                ".filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0).slice(0, 8)"
                ".map(e => e.tagName + e.id + e.className + ' ' + e.scrollWidth + '/' + e.clientWidth)")
            assert overflow <= 1, f'{page} scrolls sideways by {overflow}px at 200% zoom: {wide}'
        driver.save_screenshot(os.path.join(SHOTS, '13-zoomed.png'))
        print('PASS')
    finally:
        if driver is not None:
            driver.quit()
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=60)
        orch.terminate()
        orch.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
