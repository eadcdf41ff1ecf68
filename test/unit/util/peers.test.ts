import { expect } from 'chai';
import { isAllowedPeer, parsePeerList } from '../../../src/util/peers';

describe('AUTHZ_ALLOWED_PEERS', () => {
  const { peers } = parsePeerList(['127.0.0.0/8', '::1', '10.1.2.3', 'fd00::/8']);
  const table: Array<[address: string | undefined, allowed: boolean]> = [
    ['127.0.0.1', true],
    ['127.9.9.9', true],
    ['::ffff:127.0.0.1', true],
    ['::1', true],
    ['10.1.2.3', true],
    ['10.1.2.4', false],
    ['::ffff:10.1.2.4', false],
    ['fd12::1', true],
    ['192.168.1.10', false],
    ['2001:db8::1', false],
    ['', false],
    [undefined, false],
  ];
  for (const [address, allowed] of table) it(`${String(address)} ${allowed ? 'may' : 'may not'} call the plugin`, () => expect(isAllowedPeer(peers, address)).to.equal(allowed));

  it('allows nobody when the list is empty', () => {
    expect(isAllowedPeer(parsePeerList([]).peers, '127.0.0.1')).to.equal(false);
  });
});
