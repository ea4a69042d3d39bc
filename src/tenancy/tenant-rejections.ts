import { Injectable } from '@nestjs/common';

/**
 * Requests the tenant middleware answered itself (unknown, suspended or mismatched tenant, registry down), by
 * error code. Counted without a tenant label: most name no tenant that exists, and probing must not grow series.
 */
@Injectable()
export class TenantRejections {
  readonly byCode = new Map<string, number>();

  record(code: string): void {
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
  }
}
