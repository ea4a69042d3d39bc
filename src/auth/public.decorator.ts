import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'tenantry:isPublic';

/** Marks an operation that needs no access token (login, health). The tenant middleware still applies. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
