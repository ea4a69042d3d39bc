import { OTHER_TENANT, TopTenantLabels } from './tenant-labels';

describe('TopTenantLabels', () => {
  it('labels the first K tenants seen until the first ranking, the rest as other', () => {
    const labels = new TopTenantLabels(2);
    expect(['a', 'b', 'c', 'a', 'd'].map((id) => labels.labelFor(id))).toEqual(['a', 'b', OTHER_TENANT, 'a', OTHER_TENANT]);
  });

  it('re-elects the busiest tenants on rank and reports those that lost their label', () => {
    const labels = new TopTenantLabels(2);
    for (const id of ['a', 'b', 'c', 'c', 'c', 'd', 'd']) labels.labelFor(id);
    expect(labels.rank().sort()).toEqual(['a', 'b']);
    expect([...labels.labels].sort()).toEqual(['c', 'd']);
    expect(labels.labelFor('a')).toBe(OTHER_TENANT);
    expect(labels.labelFor('c')).toBe('c');
  });

  it('never holds more than K labels, and keeps the current holders on a tie', () => {
    const labels = new TopTenantLabels(3);
    for (let i = 0; i < 50; i++) labels.labelFor(`t${i % 10}`);
    const held = [...labels.labels];
    expect(held).toEqual(['t0', 't1', 't2']);
    expect(labels.rank()).toEqual([]);
    expect([...labels.labels]).toEqual(held);
    for (let i = 0; i < 100; i++) labels.labelFor(`u${i}`);
    labels.rank();
    expect(labels.labels.size).toBe(3);
  });
});
