import { DynamicModule, Module } from '@nestjs/common';
import { GraphqlMetricsPlugin } from './graphql-metrics.plugin';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { OBSERVABILITY_OPTIONS, type ObservabilityOptions } from './observability-options';

/** Health, `/metrics` and the per-request GraphQL metrics and access log. */
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions = {}): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: [HealthController, MetricsController],
      providers: [{ provide: OBSERVABILITY_OPTIONS, useValue: options }, MetricsService, GraphqlMetricsPlugin],
      exports: [MetricsService],
    };
  }
}
