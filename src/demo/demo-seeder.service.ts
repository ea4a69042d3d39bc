import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { TenantRegistryRepository } from '../control-plane/tenant-registry.repository';
import { ProjectsRepository } from '../modules/projects/projects.repository';
import { UsersRepository } from '../modules/users/users.repository';
import { TenantContext } from '../tenancy/tenant-context';
import { TenantProvisioner } from '../tenancy/tenant-provisioner.service';

export const DEMO_PASSWORD = 'demo-password';

const DEMO_TENANTS = [
  { id: 'acme', name: 'Acme Corporation', projects: ['Rocket skates', 'Giant magnet', 'Portable hole'] },
  { id: 'globex', name: 'Globex', projects: ['Doomsday device', 'Employee handbook'] },
];

/** Gives `npm start` something to try: two tenants with an admin and a few projects each. */
@Injectable()
export class DemoSeeder {
  private readonly logger = new Logger('Demo');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly registry: TenantRegistryRepository,
    private readonly provisioner: TenantProvisioner,
    private readonly users: UsersRepository,
    private readonly projects: ProjectsRepository,
  ) {}

  /** Seeds only an empty registry, so restarts and real data are left alone. */
  async seedIfEmpty(): Promise<boolean> {
    if ((await this.registry.count()) > 0) return false;
    for (const demo of DEMO_TENANTS) {
      const tenant = await this.provisioner.create({
        id: demo.id,
        name: demo.name,
        plan: 'free',
        adminEmail: `admin@${demo.id}.test`,
        adminPassword: DEMO_PASSWORD,
      });
      // The same path a request takes: repositories inside the tenant's context.
      await TenantContext.run({ tenant, requestId: 'demo-seed' }, async () => {
        const admin = await this.users.getByEmailWithHash(`admin@${demo.id}.test`);
        for (const name of demo.projects) {
          await this.projects.create({ name, description: `A ${demo.name} demo project`, ownerId: admin!.id });
        }
      });
    }
    this.logger.log(`Seeded demo tenants ${DEMO_TENANTS.map((t) => t.id).join(', ')}`);
    return true;
  }

  tryItCommand(): string {
    const url = `http://localhost:${this.config.port}/graphql`;
    return [
      `TOKEN=$(curl -s ${url} -H 'x-tenant-id: acme' -H 'content-type: application/json' \\`,
      `  -d '{"query":"mutation { login(email: \\"admin@acme.test\\", password: \\"${DEMO_PASSWORD}\\") { accessToken } }"}' \\`,
      `  | sed -E 's/.*"accessToken":"([^"]+)".*/\\1/')`,
      `curl -s ${url} -H 'x-tenant-id: acme' -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\`,
      `  -d '{"query":"{ projects(first: 5) { totalCount edges { node { name owner { email } } } } }"}'`,
    ].join('\n');
  }
}
