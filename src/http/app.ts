import { imageTrustView } from '../policies/image-trust/settings';
import { policiesView } from './policies-view';
import Router from '@koa/router';
import Koa from 'koa';
import { describeConfig } from '../config';
import type { Detection } from '../store/detections';
import type { HttpDeps } from './deps';
import { imageTrustSettingsSection, renderConfigPage, renderDetectionsPage, renderPoliciesPage, renderReportPage, renderRulesPage, trustDecisionsSection } from './html';
import { buildReport } from '../policies/cis/report';

/** HTTP errors carry a status and are safe to show; anything else is a 500 with no internals. */
export class HttpError extends Error {
  readonly expose = true;
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Context = Koa.ParameterizedContext;

/** Options that count only when set to 1/true/yes (the original accepted exactly 1); 0/false/no/'' mean off. */
function flag(ctx: Context, name: string): boolean {
  const value = ctx.query[name];
  if (value === undefined) return false;
  const text = (Array.isArray(value) ? value[value.length - 1] : value)?.toLowerCase() ?? '';
  if (['1', 'true', 'yes'].includes(text)) return true;
  if (['0', 'false', 'no', ''].includes(text)) return false;
  throw new HttpError(400, `${name} must be 1 or 0, got ${JSON.stringify(text)}`);
}

// A browser asks for text/html explicitly; curl sends "*/*" and gets JSON (the original sent it HTML).
function wantsHtml(ctx: Context): boolean {
  return /\btext\/html\b/i.test(ctx.get('accept'));
}

function detectionJson(detection: Detection, allRules: boolean, imageAndLabels: boolean): Record<string, unknown> {
  return {
    id: detection.id,
    name: detection.name,
    violated_rule: allRules ? detection.violatedRules : (detection.violatedRules[0] ?? ''),
    owner: detection.owner,
    ...(detection.host !== undefined ? { host: detection.host } : {}),
    // The original's value for AuthZ checks; rules themselves read c.checkSource === 'authz'.
    source: detection.source === 'authz' ? 'authz_plugin' : detection.source,
    count: detection.count,
    last_timestamp: detection.lastTimestamp.toISOString(),
    mode: detection.mode,
    action: detection.action,
    ...(imageAndLabels ? { image: detection.image, labels: detection.labels } : {}),
    // Only when something user-supplied was cut to its bound (DETECTION_LIMITS).
    ...(detection.truncated ? { truncated: true } : {}),
  };
}

function detectionsHandler(deps: HttpDeps, recentOnly: boolean) {
  return (ctx: Context): void => {
    const allRules = flag(ctx, 'show_all_violated_rules');
    const imageAndLabels = flag(ctx, 'show_image_and_labels');
    const periodic = deps.periodicStatus();
    const since = recentOnly ? (periodic?.lastRunStart ?? undefined) : undefined;
    const detections = deps.store.list(since);
    // Recent image-trust verdicts (allowed ones too) when the gate is on.
    const trust = recentOnly && deps.config.imageTrust ? (deps.trustDecisions?.() ?? []) : undefined;
    const body = {
      ...(periodic
        ? {
            last_full_check_run_timestamp_start: periodic.lastRunStart?.toISOString() ?? null,
            last_full_check_run_timestamp_end: periodic.lastRunEnd?.toISOString() ?? null,
            last_full_check_run_time: periodic.lastRunSeconds,
          }
        : {}),
      detections: detections.map((d) => detectionJson(d, allRules, imageAndLabels)),
      ...(trust ? { image_trust: trust } : {}),
    };
    if (wantsHtml(ctx)) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderDetectionsPage(recentOnly ? 'Recent detections' : 'Detections', periodic, detections, trustDecisionsSection(trust));
      return;
    }
    ctx.body = body;
  };
}

function rulesHandler(deps: HttpDeps, kind: 'rules' | 'request_rules') {
  return (ctx: Context): void => {
    const ruleSet = deps.rules();
    const group = kind === 'rules' ? ruleSet.containerRules : ruleSet.requestRules;
    const rules = group.rules.map((rule) => ({ name: rule.name, mode: rule.mode ?? deps.config.mode }));
    const kinds = kind === 'rules' ? ['rules', 'whitelist_rules'] : ['request_rules'];
    const files = ruleSet.files
      .filter((file) => kinds.includes(file.kind))
      .map((file) => ({ kind: file.kind, path: file.path, present: file.present, loaded_at: file.loadedAt, names: file.names, source: file.source }));
    const trust = kind === 'rules' ? { image_trust: imageTrustView(deps.config.imageTrust) } : {};
    const body = { rules, ...(kind === 'rules' ? { whitelist_rules: ruleSet.whitelistRules.rules.map((r) => r.name) } : {}), files, last_reload: deps.reloadStatus(), ...trust };
    if (wantsHtml(ctx)) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderRulesPage(kind === 'rules' ? 'Container rules' : 'Request rules', rules, files, deps.reloadStatus(), trust.image_trust ? imageTrustSettingsSection(trust.image_trust) : '');
      return;
    }
    ctx.body = body;
  };
}

/**
 * The koa app behind HTTP_PORT (and AUTHZ_SOCKET). Handlers only read daemon state. The AuthZ plugin
 * endpoints are served in front of it (authz-handler.ts).
 */
export function createHttpApp(deps: HttpDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const router = new Router();

  router.get('/', detectionsHandler(deps, false));
  router.get('/recent', detectionsHandler(deps, true));
  router.get('/config', (ctx) => {
    const config = describeConfig(deps.config);
    if (wantsHtml(ctx)) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderConfigPage(config);
      return;
    }
    ctx.body = config;
  });
  router.get('/rules', rulesHandler(deps, 'rules'));
  router.get('/request_rules', rulesHandler(deps, 'request_rules'));
  router.get('/policies', (ctx) => {
    const view = policiesView(deps.policies(), deps.config.hostName, deps.reloadStatus());
    if (wantsHtml(ctx)) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderPoliciesPage(view);
      return;
    }
    ctx.body = view;
  });
  router.get('/triggers', (ctx) => {
    const file = deps.triggers();
    const files = file ? [{ kind: file.kind, path: file.path, present: file.present, loaded_at: file.loadedAt, names: file.names, source: file.source }] : [];
    const triggers = (file?.names ?? []).map((name) => ({ name }));
    if (wantsHtml(ctx)) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderRulesPage('Triggers', triggers.map((t) => ({ name: t.name, mode: '—' })), files);
      return;
    }
    ctx.body = { triggers, files };
  });
  router.get('/report', (ctx) => {
    const data = deps.cisReport?.();
    // The end of the last completed scan; rows recorded by start events since then are newer.
    const report = buildReport(data?.rows ?? [], data?.packs, new Date(), data?.lastScan?.lastRunEnd ?? null);
    if (wantsHtml(ctx)) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = renderReportPage(report);
      return;
    }
    ctx.body = report;
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  router.get('/health', (ctx) => {
    const report = deps.health();
    ctx.status = report.healthy ? 200 : 503;
    ctx.body = report.healthy ? { status: 'ok', ...report.details } : { status: 'unhealthy', problems: report.problems, ...report.details };
  });

  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: `not found: ${ctx.path}` };
      }
    } catch (err: unknown) {
      if (err instanceof HttpError) {
        ctx.status = err.status;
        ctx.body = { error: err.message };
        return;
      }
      deps.log.error({ err, path: ctx.path }, 'http handler failed');
      ctx.status = 500;
      ctx.body = { error: 'internal error' };
    }
  });
  app.use(router.routes());
  app.use(async (ctx, next) => {
    await next();
    // allowedMethods() sets 405 + Allow for known paths; give it a JSON body.
    if (ctx.status === 405 && (ctx.body === undefined || ctx.body === null || typeof ctx.body === 'string')) {
      ctx.status = 405;
      ctx.body = { error: `method ${ctx.method} not allowed on ${ctx.path}` };
    }
  });
  app.use(router.allowedMethods({ throw: false }));
  return app;
}
