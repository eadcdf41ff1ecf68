import { expect } from 'chai';
import { DetectionStore, type DetectionInput } from '../../../src/store/detections';

const input = (id: string): DetectionInput => ({
  id,
  name: id,
  violatedRules: ['r'],
  owner: '[unknown]',
  source: 'periodic',
  image: 'i',
  labels: {},
  mode: 'WARN',
  action: 'warned',
});

describe('detection store', () => {
  it('counts repeats, keeps first-seen order and the latest time', () => {
    const store = new DetectionStore(10);
    store.record(input('a'), new Date(1000));
    store.record(input('b'), new Date(2000));
    store.record(input('a'), new Date(3000));
    expect(store.list().map((d) => [d.id, d.count, d.lastTimestamp.getTime()])).to.deep.equal([
      ['a', 2, 3000],
      ['b', 1, 2000],
    ]);
    expect(store.list(new Date(2500)).map((d) => d.id)).to.deep.equal(['a']);
  });

  it('is bounded: the least recently detected subject is evicted first', () => {
    const store = new DetectionStore(2);
    store.record(input('a'), new Date(1));
    store.record(input('b'), new Date(2));
    store.record(input('a'), new Date(3));
    store.record(input('c'), new Date(4));
    expect(store.size).to.equal(2);
    expect(store.list().map((d) => d.id)).to.deep.equal(['a', 'c']);
  });

  it('keeps AuthZ detections (keyed by name) apart from container ids', () => {
    const store = new DetectionStore(10);
    store.record(input('web'), new Date(1));
    store.record({ ...input('web'), source: 'authz' }, new Date(2));
    expect(store.size).to.equal(2);
  });
});
