import { KnownTenants } from './known-tenants';

describe('KnownTenants', () => {
  it('answers "maybe" for every name until filled, then "no" only for names it was not given', () => {
    const known = new KnownTenants();
    expect([known.filled, known.mayHoldId('ghost'), known.mayHoldDomain('ghost.example.org')]).toEqual([false, true, true]);
    known.beginFill();
    known.fill(['acme'], ['shop.acme.org']);
    expect([known.mayHoldId('acme'), known.mayHoldId('ghost'), known.mayHoldDomain('shop.acme.org'), known.mayHoldDomain('x.org')]).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });

  it('keeps names notified while a fill was reading the registry, and names notified after it', () => {
    const known = new KnownTenants();
    known.beginFill();
    known.addId('created-during-fill');
    known.addDomain('during.example.org');
    known.fill(['acme'], []);
    known.addId('created-after');
    expect(['acme', 'created-during-fill', 'created-after', 'ghost'].map((id) => known.mayHoldId(id))).toEqual([true, true, true, false]);
    expect(known.mayHoldDomain('during.example.org')).toBe(true);
  });

  it('answers "maybe" again once notifications may have been missed', () => {
    const known = new KnownTenants();
    known.beginFill();
    known.fill(['acme'], []);
    known.forget();
    expect(known.mayHoldId('ghost')).toBe(true);
  });
});
