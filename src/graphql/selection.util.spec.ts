import { buildSchema, graphql, type GraphQLResolveInfo } from 'graphql';
import { selects } from './selection.util';

const schema = buildSchema(`
  type User { email: String }
  type Project { name: String owner: User }
  type Edge { node: Project }
  type Connection { edges: [Edge] totalCount: Int }
  type Query { projects: Connection }
`);

async function ownerSelectedIn(document: string): Promise<boolean> {
  let seen: boolean | undefined;
  await graphql({
    schema,
    source: document,
    rootValue: { projects: (_args: unknown, _context: unknown, info: GraphQLResolveInfo) => ((seen = selects(info, ['edges', 'node', 'owner'])), { edges: [] }) },
  });
  return seen!;
}

describe('selects', () => {
  it('finds a nested field by its name, under an alias too', async () => {
    expect(await ownerSelectedIn('{ projects { edges { node { owner { email } } } } }')).toBe(true);
    expect(await ownerSelectedIn('{ projects { edges { node { boss: owner { email } } } } }')).toBe(true);
  });

  it('finds it through inline and named fragments', async () => {
    expect(await ownerSelectedIn('{ projects { edges { node { ... on Project { owner { email } } } } } }')).toBe(true);
    expect(await ownerSelectedIn('{ projects { ...Page } } fragment Page on Connection { edges { node { owner { email } } } }')).toBe(true);
  });

  it('is false when only siblings or other levels are selected', async () => {
    expect(await ownerSelectedIn('{ projects { totalCount edges { node { name } } } }')).toBe(false);
    expect(await ownerSelectedIn('{ projects { totalCount } }')).toBe(false);
  });
});
