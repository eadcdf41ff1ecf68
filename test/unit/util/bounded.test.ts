import { expect } from 'chai';
import { boundedCopy, OMITTED_KEY } from '../../../src/util/bounded';

describe('bounded copies of data that waits in queues', () => {
  it('keeps small values whole', () => {
    const value = { name: 'web', labels: { a: 'b' }, list: [1, 2, { x: null }] };
    expect(boundedCopy(value, 1000)).to.deep.equal({ value, cut: false });
  });

  it('cuts long strings and stops taking entries once the budget is spent', () => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) labels[`label-${i}`] = 'v'.repeat(600);
    const { value, cut } = boundedCopy({ params: { Config: { Labels: labels, Env: ['A='.padEnd(5000, 'x')] } } }, 16_384);
    expect(cut).to.equal(true);
    const kept = value.params.Config.Labels;
    expect(Object.keys(kept).length).to.be.lessThan(40);
    expect(kept[OMITTED_KEY]).to.match(/more entries$/);
    expect(JSON.stringify(value).length).to.be.lessThan(24_000);
  });

  it('keeps __proto__ keys as data', () => {
    const input = JSON.parse('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const { value } = boundedCopy(input, 100);
    expect(Object.keys(value)).to.deep.equal(['__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
  });
});
