/**
 * Readable pages for admins. Self-contained (inline CSS and a few lines of JS): the daemon runs on
 * hosts without internet. Every dynamic string is escaped: container names, labels, rule names and
 * sources are user-controlled.
 */
import type { TrustDecision } from '../store/trust-decisions';
import type { PoliciesView } from './policies-view';
import type { Detection } from '../store/detections';
import type { PeriodicRunStatus, ReloadStatus } from './deps';
import { formatRate, type CisReportJson, type ReportResult } from '../policies/cis/report';

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#fafbfc}
nav a{margin-right:1rem;color:#1a5fb4;text-decoration:none;font-weight:600}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d7dbe0;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#eef1f5;cursor:pointer;user-select:none}th[aria-sort]::after{content:" \\2195";color:#889}
tr:nth-child(even) td{background:#f7f9fb}.mode-KILL{color:#b01c1c;font-weight:600}.mode-WARN{color:#9a6700}
pre{background:#0f1419;color:#e6e1cf;padding:1rem;overflow:auto;border-radius:6px}
.kw{color:#ff8f40}.str{color:#aad94c}.num{color:#e6b450}.com{color:#6c7680;font-style:italic}
.meta{color:#555;font-size:.9rem}code{font-family:ui-monospace,monospace}`;

// Click a header to sort by that column; again to reverse.
const SORT_SCRIPT = `
document.querySelectorAll('table.sortable th').forEach(function (th, index) {
  th.setAttribute('aria-sort', 'none');
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th').forEach(function (h) { h.setAttribute('aria-sort', 'none'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[index].dataset.sort || a.cells[index].textContent, y = b.cells[index].dataset.sort || b.cells[index].textContent;
      var nx = Number(x), ny = Number(y);
      var order = (!isNaN(nx) && !isNaN(ny) && x !== '' && y !== '') ? nx - ny : x.localeCompare(y);
      return ascending ? order : -order;
    }).forEach(function (row) { body.appendChild(row); });
  });
});`;

function page(title: string, content: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · docker-enforcer</title>
<style>${STYLE}</style></head><body>
<nav><a href="/">Detections</a><a href="/recent">Recent</a><a href="/rules">Rules</a><a href="/request_rules">Request rules</a><a href="/triggers">Triggers</a><a href="/report">Compliance</a><a href="/config">Config</a><a href="/metrics">Metrics</a><a href="/health">Health</a></nav>
<h1>${escapeHtml(title)}</h1>
${content}
<script>${SORT_SCRIPT}</script></body></html>`;
}

/** Recent image-trust verdicts (/recent), when the gate is on. */
export function trustDecisionsSection(decisions: readonly TrustDecision[] | undefined): string {
  if (decisions === undefined) return '';
  const rows = decisions
    .map(
      (d) => `<tr><td data-sort="${escapeHtml(d.time)}">${escapeHtml(d.time)}</td><td>${escapeHtml(d.image)}</td><td class="${d.trusted ? '' : 'mode-KILL'}">${d.trusted ? 'trusted' : 'untrusted'}</td><td>${escapeHtml(d.action)}</td><td>${escapeHtml(d.source)}</td>
<td><code>${escapeHtml(d.digest ?? '—')}</code></td><td><code>${escapeHtml(d.key ?? '—')}</code>${d.layout ? ` (${escapeHtml(d.layout)})` : ''}</td><td>${escapeHtml(d.reason ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<h2>Image trust</h2>${decisions.length === 0 ? '<p>No image-trust decisions yet.</p>' : ''}<table id="image-trust" class="sortable"><thead><tr><th>Time</th><th>Image</th><th>Verdict</th><th>Action</th><th>Source</th><th>Digest</th><th>Key</th><th>Why not</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The trust settings and key fingerprints (/rules), when the gate is on. */
export function imageTrustSettingsSection(view: Record<string, unknown>): string {
  if (view['enabled'] !== true) return '';
  const keys = (view['signature_keys'] as Array<{ file: string; fingerprint: string }>).map((k) => `<tr><td><code>${escapeHtml(k.file)}</code></td><td><code>${escapeHtml(k.fingerprint)}</code></td></tr>`).join('');
  const settings = Object.entries(view)
    .filter(([key]) => key !== 'signature_keys' && key !== 'enabled')
    .map(([key, value]) => `<tr><td><code>${escapeHtml(key)}</code></td><td><code>${escapeHtml(JSON.stringify(value))}</code></td></tr>`)
    .join('');
  return `<h2>Image trust</h2><table id="image-trust-settings"><tbody>${settings}</tbody></table><table id="image-trust-keys"><thead><tr><th>Key file</th><th>Fingerprint (sha256 of the public key)</th></tr></thead><tbody>${keys}</tbody></table>`;
}

export function renderDetectionsPage(title: string, periodic: PeriodicRunStatus | null, detections: readonly Detection[], extra = ''): string {
  const runs = periodic
    ? `<p class="meta">Last full scan: started ${escapeHtml(periodic.lastRunStart?.toISOString() ?? 'never')}, ended ${escapeHtml(
        periodic.lastRunEnd?.toISOString() ?? '—',
      )}, took ${escapeHtml(periodic.lastRunSeconds === null ? '—' : `${periodic.lastRunSeconds.toFixed(3)} s`)}</p>`
    : '<p class="meta">Periodic scans are off.</p>';
  const rows = detections
    .map(
      (d) => `<tr><td>${escapeHtml(d.name || '—')}<br><code>${escapeHtml(d.id.slice(0, 12))}</code>${d.truncated ? '<br><em title="a name, image, label or reason was cut to its size bound">(truncated)</em>' : ''}</td><td>${escapeHtml(d.image)}</td>
<td>${d.violatedRules.map(escapeHtml).join('<br>')}</td><td class="mode-${escapeHtml(d.mode)}">${escapeHtml(d.mode)}</td><td>${escapeHtml(d.action)}</td>
<td>${escapeHtml(d.source)}</td><td>${escapeHtml(d.owner)}</td><td data-sort="${d.count}">${d.count}</td>
<td data-sort="${escapeHtml(d.lastTimestamp.toISOString())}">${escapeHtml(d.lastTimestamp.toISOString())}</td></tr>`,
    )
    .join('\n');
  const table = `<table id="detections" class="sortable"><thead><tr><th>Container</th><th>Image</th><th>Rules</th><th>Mode</th><th>Action</th><th>Source</th><th>Owner</th><th>Count</th><th>Last seen</th></tr></thead>
<tbody>${rows}</tbody></table>`;
  return page(title, `${runs}${detections.length === 0 ? '<p>No detections.</p>' : ''}${table}${extra}`);
}

interface RuleRow {
  readonly name: string;
  readonly mode: string;
}
interface FileRow {
  readonly kind: string;
  readonly path: string;
  readonly present: boolean;
  readonly loaded_at: string;
  readonly source: string;
}

export function renderRulesPage(title: string, rules: readonly RuleRow[], files: readonly FileRow[], reload: ReloadStatus | null = null, extra = ''): string {
  const rows = rules.map((r) => `<tr><td>${escapeHtml(r.name)}</td><td class="mode-${escapeHtml(r.mode)}">${escapeHtml(r.mode)}</td></tr>`).join('\n');
  const sources = files
    .map(
      (f) => `<h2>${escapeHtml(f.kind)}</h2><p class="meta"><code>${escapeHtml(f.path)}</code> — ${
        f.present ? `loaded ${escapeHtml(f.loaded_at)}` : 'not present'
      }</p>${f.present ? `<pre><code>${highlightTypeScript(f.source)}</code></pre>` : ''}`,
    )
    .join('\n');
  const reloadNote = reloadLine(reload, 'the previous rules stay in force');
  return page(title, `${reloadNote}<table id="rules" class="sortable"><thead><tr><th>Rule</th><th>Effective mode</th></tr></thead><tbody>${rows}</tbody></table>${extra}${sources}`);
}

function reloadLine(reload: ReloadStatus | null, kept: string): string {
  return reload === null
    ? ''
    : `<p class="meta" id="reload">Last reload (${escapeHtml(reload.reason)}) at ${escapeHtml(reload.at)}: <strong class="${reload.result === 'failure' ? 'mode-KILL' : ''}">${escapeHtml(reload.result)}</strong>${
        reload.errors.length > 0 ? ` — ${kept}:<br>${reload.errors.map(escapeHtml).join('<br>')}` : ''
      }</p>`;
}

export function renderPoliciesPage(view: PoliciesView): string {
  const reload = reloadLine(view.last_reload, 'the previous rules and policies stay in force');
  if (!view.enabled) return page('Policies', `${reload}<p>No policy files: the TypeScript rules alone decide.</p>`);
  const applies = view.applies ? `rule set ${view.applies.index} (${escapeHtml(view.applies.name)})` : '<strong class="mode-KILL">none: every request is denied</strong>';
  const ruleSets = view.rule_sets
    .map((ruleSet) => {
      const rows = ruleSet.policies
        .map((policy) => {
          const rules = Object.entries(policy.rules).map(([key, checks]) => `<code>${escapeHtml(key)}</code>: ${checks.map(escapeHtml).join(', ')}`).join('<br>');
          return `<tr><td>${policy.index}${policy.name ? ` (${escapeHtml(policy.name)})` : ''}</td><td>${policy.members.map(escapeHtml).join(', ')}</td><td>${rules}</td></tr>`;
        })
        .join('\n');
      const hosts = [...ruleSet.hosts.include.map((h) => `+${h}`), ...ruleSet.hosts.exclude.map((h) => `-${h}`)].map((h) => `<code>${escapeHtml(h)}</code>`).join(' ');
      return `<h2>Rule set ${ruleSet.index}: ${escapeHtml(ruleSet.name)}</h2><p class="meta">hosts ${hosts} — default <strong>${escapeHtml(ruleSet.default)}</strong>${ruleSet.mode ? ` — mode <strong class="mode-${escapeHtml(ruleSet.mode)}">${escapeHtml(ruleSet.mode)}</strong>` : ''}</p>
<table class="sortable policies"><thead><tr><th>Policy</th><th>Members</th><th>Rules (key: checks)</th></tr></thead><tbody>${rows}</tbody></table>`;
    })
    .join('\n');
  const groups = Object.entries(view.groups)
    .map(([group, members]) => `<tr><td>${escapeHtml(group)}</td><td>${members.map(escapeHtml).join(', ')}</td></tr>`)
    .join('\n');
  const files = view.files
    .map((f) => `<h2>${escapeHtml(f.kind)}</h2><p class="meta"><code>${escapeHtml(f.path)}</code> — ${f.present ? `loaded ${escapeHtml(f.loaded_at)}` : 'not present'}</p>${f.present ? `<pre><code>${escapeHtml(f.source)}</code></pre>` : ''}`)
    .join('\n');
  return page(
    'Policies',
    `${reload}<p class="meta">Host <code>${escapeHtml(view.host_name)}</code> (${escapeHtml(view.format ?? '')} format): ${applies}</p>${ruleSets}<h2>Groups</h2><table id="groups" class="sortable"><thead><tr><th>Group</th><th>Members</th></tr></thead><tbody>${groups}</tbody></table>${files}`,
  );
}

export function renderConfigPage(config: Record<string, unknown>): string {
  const rows = Object.entries(config)
    .map(([key, value]) => `<tr><td><code>${escapeHtml(key)}</code></td><td><code>${escapeHtml(JSON.stringify(value))}</code></td></tr>`)
    .join('\n');
  return page('Configuration', `<table id="config" class="sortable"><thead><tr><th>Key</th><th>Value</th></tr></thead><tbody>${rows}</tbody></table>`);
}

const TOKEN = /(\/\/[^\n]*|\/\*[\s\S]*?\*\/)|('(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`)|\b(\d+(?:\.\d+)?)\b|\b(import|export|from|const|let|var|function|return|if|else|for|while|type|interface|true|false|null|undefined|new|typeof|as|async|await)\b/g;

/** Tiny highlighter: tokens are found on the raw source, and every piece is escaped before output. */
export function highlightTypeScript(source: string): string {
  let out = '';
  let last = 0;
  for (const match of source.matchAll(TOKEN)) {
    const index = match.index ?? 0;
    out += escapeHtml(source.slice(last, index));
    const cls = match[1] ? 'com' : match[2] ? 'str' : match[3] ? 'num' : 'kw';
    out += `<span class="${cls}">${escapeHtml(match[0])}</span>`;
    last = index + match[0].length;
  }
  return out + escapeHtml(source.slice(last));
}

const RESULT_CELL: Readonly<Record<ReportResult, { readonly text: string; readonly order: number }>> = {
  fail: { text: 'FAIL', order: 0 },
  pass: { text: 'PASS', order: 1 },
  excluded: { text: 'EXCL', order: 2 },
  not_applicable: { text: 'N/A', order: 3 },
};

const REPORT_STYLE = `<style>
#cis-matrix td.r{text-align:center;font-weight:600;font-size:.8rem;white-space:nowrap}
#cis-matrix td.r-fail{background:#fbe3e3 !important;color:#9b1c1c}#cis-matrix td.r-pass{background:#e3f4e6 !important;color:#1d6b2f}
#cis-matrix td.r-excluded{background:#ecebf5 !important;color:#4b4b72}#cis-matrix td.r-not_applicable{background:#f3f3f3 !important;color:#777}
#cis-matrix tfoot td{background:#eef1f5;font-weight:600}#cis-matrix th{white-space:nowrap}
#cis-matrix.failures-only tr.no-failure{display:none}
</style>`;

// Hides the rows without a failing cell; a class on the table keeps it working after a re-sort.
const FILTER_SCRIPT = `<script>
(function () {
  var box = document.getElementById('failures-only'), table = document.getElementById('cis-matrix');
  if (!box || !table) return;
  var apply = function () { table.classList.toggle('failures-only', box.checked); };
  box.addEventListener('change', apply);
  apply();
})();
</script>`;

/** GET /report: containers × checks, with each check's pass rate and each container's score. */
export function renderReportPage(report: CisReportJson): string {
  const scanned = `<p class="meta">Generated ${escapeHtml(report.generated_at)}; last full scan ${escapeHtml(report.last_scan ?? 'none (periodic scans are off, or have not run yet)')}.</p>`;
  if (report.pack === null) {
    return page('Compliance report', `${scanned}<p id="no-pack">No packs are loaded: the packs file (PACKS_PATH) does not exist or does not turn on <code>cis-docker</code>, so there is nothing to report.</p>`);
  }
  const { summary } = report;
  const overview = `<p class="meta" id="summary">Pack <code>cis-docker</code> in mode <strong class="mode-${escapeHtml(report.pack.mode)}">${escapeHtml(report.pack.mode)}</strong>: ${summary.containers} container(s), ${summary.checks} check(s); <span class="mode-KILL">${summary.failed_kill} failing in KILL</span>, <span class="mode-WARN">${summary.failed_warn} failing in WARN</span>.</p>`;
  const results = new Map(report.results.map((r) => [`${r.container_id}\u0000${r.check}`, r] as const));
  const headers = report.checks
    .map((c) => `<th title="${escapeHtml(`${c.cis} ${c.title} — mode ${c.mode}${c.informational ? ', informational' : ''}, level ${c.level}`)}" data-check="${escapeHtml(c.id)}">${escapeHtml(c.cis)}</th>`)
    .join('');
  const rows = report.containers
    .map((container) => {
      const cells = report.checks
        .map((check) => {
          const result = results.get(`${container.id}\u0000${check.id}`);
          if (result === undefined) return '<td class="r" data-sort="9">—</td>';
          const cell = RESULT_CELL[result.result];
          const tip = `${check.cis} ${check.title}: ${cell.text} [${result.mode}]${result.detail ? ` — ${result.detail}` : ''}`;
          return `<td class="r r-${result.result}" data-sort="${cell.order}" title="${escapeHtml(tip)}">${cell.text}</td>`;
        })
        .join('');
      const label = container.name || container.id.slice(0, 12);
      return `<tr class="${container.failed.length > 0 ? 'has-failure' : 'no-failure'}" data-failed="${container.failed.length}"><td data-sort="${escapeHtml(label)}">${escapeHtml(label)}<br><code>${escapeHtml(container.id.slice(0, 12))}</code></td><td>${escapeHtml(container.image)}</td><td data-sort="${container.score ?? -1}">${formatRate(container.score)}</td><td data-sort="${container.failed.length}">${container.failed.length}</td>${cells}</tr>`;
    })
    .join('\n');
  const rates = report.checks.map((c) => `<td class="r" title="${escapeHtml(`${c.passed} passed, ${c.failed} failed, ${c.excluded} excluded, ${c.not_applicable} not applicable`)}">${formatRate(c.pass_rate)}</td>`).join('');
  const filter = `<p><label><input type="checkbox" id="failures-only"> Failures only (hide containers that fail no check)</label></p>`;
  const legend = '<p class="meta">PASS, FAIL, EXCL (excluded by the packs file or a whitelist), N/A (not applicable). Hover a CIS number for the check\'s title, a cell for the finding. Score and pass rate: passed / (passed + failed).</p>';
  const table = `<table id="cis-matrix" class="sortable"><thead><tr><th>Container</th><th>Image</th><th>Score</th><th>Failed</th>${headers}</tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr id="pass-rates"><td>Pass rate</td><td></td><td></td><td></td>${rates}</tr></tfoot></table>`;
  const empty = report.containers.length === 0 ? '<p>No container has been checked yet.</p>' : '';
  return page('Compliance report', `${REPORT_STYLE}${scanned}${overview}${filter}${legend}${empty}${table}${FILTER_SCRIPT}`);
}
