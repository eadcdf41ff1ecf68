import { expect } from 'chai';
import { decide, type DecisionInput } from '../../../src/engine/decide';
import { NO_VIOLATION, type Judgement } from '../../../src/engine/judge';
import type { Mode } from '../../../src/rules/api';

const violated = (rule: string, mode: Mode): Judgement => ({ violations: [{ rule, mode, reason: rule }], mode, whitelistErrors: [], deferredRead: [] });
const base = (mode: Mode, extra: Partial<DecisionInput> = {}): DecisionInput => ({
  mode,
  defaultActionAllow: true,
  allowUnknownActions: false,
  requireBody: true,
  action: 'containersCreate',
  method: 'POST',
  path: '/containers/create',
  ...extra,
});

describe('the AuthZ decision (sources x modes x default action x body guard)', () => {
  type Row = [what: string, input: DecisionInput, allow: boolean, label: string, msg?: RegExp];
  const rows: Row[] = [
    ['no source objects', base('KILL', { judgements: [NO_VIOLATION] }), true, 'allow'],
    ['a KILL rule denies', base('WARN', { judgements: [violated('no privileged', 'KILL')] }), false, 'deny', /^no privileged$/],
    ['a WARN rule warns', base('KILL', { judgements: [violated('memory limit', 'WARN')] }), true, 'warn'],
    ['KILL and WARN rules: denied naming the KILL one', base('KILL', { judgements: [violated('a', 'WARN'), violated('b', 'KILL')] }), false, 'deny', /^b$/],
    // Not a Docker request at all: the only use of DEFAULT_ACTION_ALLOW.
    ['a malformed envelope, default allow', base('KILL', { envelopeProblem: 'envelope is not JSON' }), true, 'default_allow'],
    ['a malformed envelope, default deny', base('KILL', { envelopeProblem: 'envelope is not JSON', defaultActionAllow: false }), false, 'default_deny', /^Denied as default action: envelope is not JSON$/],
    // A fault is never the default action.
    ['a fault in KILL mode, default allow', base('KILL', { faults: ['the rule engine died'] }), false, 'deny', /could not be judged: the rule engine died/],
    ['a fault in WARN mode', base('WARN', { faults: ['the rule engine died'] }), true, 'warn'],
    ['an unreadable body in KILL mode', base('KILL', { unreadable: ['the body is not valid JSON'] }), false, 'deny', /not valid JSON/],
    ['a missing body, guard on', base('KILL', { missingBody: 'chunked body' }), false, 'deny', /chunked body/],
    ['a missing body, guard off', base('KILL', { missingBody: 'chunked body', requireBody: false }), true, 'allow'],
    ['a missing body in WARN mode', base('WARN', { missingBody: 'chunked body' }), true, 'warn'],
    ['an unknown action in KILL mode', base('KILL', { action: 'unknown', method: 'GET', path: '/v1.99/new' }), false, 'deny', /GET \/v1\.99\/new is not an API route/],
    ['an unknown action allowed by AUTHZ_ALLOW_UNKNOWN', base('KILL', { action: 'unknown', allowUnknownActions: true }), true, 'allow'],
    ['every reason at once, guards first', base('KILL', { unreadable: ['bad query'], missingBody: 'no body', judgements: [violated('r', 'KILL')] }), false, 'deny', /^bad query, no body, r$/],
    ['a WARN-mode guard and a KILL rule: denied by the rule only', base('WARN', { missingBody: 'no body', judgements: [violated('r', 'KILL')] }), false, 'deny', /^r$/],
    // Policies: every source must let the request through.
    ['policies allow, rules allow', base('KILL', { judgements: [NO_VIOLATION], verdicts: [{ source: 'policies', allow: true, reasons: [] }] }), true, 'allow'],
    ['policies deny under MODE=KILL', base('KILL', { verdicts: [{ source: 'policies', allow: false, reasons: ['BindMount: /etc is not under an allowed path'] }] }), false, 'deny', /^BindMount: \/etc/],
    ['policies deny under MODE=WARN: warned', base('WARN', { verdicts: [{ source: 'policies', allow: false, reasons: ['p'] }] }), true, 'warn'],
    ['a WARN rule set under MODE=KILL: warned', base('KILL', { verdicts: [{ source: 'policies', allow: false, mode: 'WARN', reasons: ['p'] }] }), true, 'warn'],
    ['a KILL rule set under MODE=WARN: denied', base('WARN', { verdicts: [{ source: 'policies', allow: false, mode: 'KILL', reasons: ['p'] }] }), false, 'deny', /^p$/],
    ['policies allow but a KILL rule denies', base('KILL', { judgements: [violated('no privileged', 'KILL')], verdicts: [{ source: 'policies', allow: true, reasons: [] }] }), false, 'deny', /^no privileged$/],
    ['both deny: both named', base('KILL', { judgements: [violated('r', 'KILL')], verdicts: [{ source: 'policies', allow: false, reasons: ['p'] }] }), false, 'deny', /^r, p$/],
  ];
  for (const [what, input, allow, label, msg] of rows) {
    it(what, () => {
      const decision = decide(input);
      expect(decision.allow).to.equal(allow);
      expect(decision.label).to.equal(label);
      if (msg) expect(decision.msg).to.match(msg);
    });
  }

  it('names the unjudgeable kinds for the metrics', () => {
    expect(decide(base('KILL', { faults: ['x'], unreadable: ['y'], missingBody: 'z', action: 'unknown' })).unjudgeable).to.deep.equal(['fault', 'unreadable', 'missing_body', 'unknown_action']);
  });
});
