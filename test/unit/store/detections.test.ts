import { expect } from 'chai';
import { DETECTION_LIMITS, DetectionStore, type DetectionInput } from '../../../src/store/detections';

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
    const store = new DetectionStore({ capacity: 10 });
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
    const store = new DetectionStore({ capacity: 2 });
    store.record(input('a'), new Date(1));
    store.record(input('b'), new Date(2));
    store.record(input('a'), new Date(3));
    store.record(input('c'), new Date(4));
    expect(store.size).to.equal(2);
    expect(store.list().map((d) => d.id)).to.deep.equal(['a', 'c']);
  });

  it('keeps AuthZ detections (keyed by name) apart from container ids', () => {
    const store = new DetectionStore({ capacity: 10 });
    store.record(input('web'), new Date(1));
    store.record({ ...input('web'), source: 'authz' }, new Date(2));
    expect(store.size).to.equal(2);
  });

  it('cuts what a detection keeps of user input, and says so', () => {
    const store = new DetectionStore({ capacity: 10 });
    const labels: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) labels[`k${i}`] = 'v'.repeat(200);
    const detection = store.record({ ...input('x'.repeat(5000)), labels, violatedRules: Array.from({ length: 40 }, (_, i) => `rule ${i} `.repeat(200)) }, new Date(1));
    expect(detection.truncated).to.equal(true);
    expect(detection.name.length).to.equal(DETECTION_LIMITS.name);
    expect(detection.id.length).to.equal(DETECTION_LIMITS.id);
    expect(detection.violatedRules).to.have.length(DETECTION_LIMITS.reasons);
    expect(detection.violatedRules.every((reason) => reason.length <= DETECTION_LIMITS.reason)).to.equal(true);
    expect(JSON.stringify(detection.labels).length).to.be.lessThan(2 * DETECTION_LIMITS.labelBytes);
    expect(store.record(input('small'), new Date(2)).truncated).to.equal(undefined);
  });

  it('is bounded by bytes too: big detections evict the least recent ones', () => {
    const store = new DetectionStore({ capacity: 100_000, maxBytes: 200_000 });
    const labels: Record<string, string> = {};
    for (let i = 0; i < 100; i++) labels[`label-${i}`] = 'v'.repeat(100);
    for (let i = 0; i < 1000; i++) store.record({ ...input(`c${i}`), labels }, new Date(i));
    expect(store.sizeBytes).to.be.at.most(200_000);
    expect(store.size).to.be.greaterThan(5).and.lessThan(1000);
    expect(store.list().at(-1)!.id).to.equal('c999');
  });
});
