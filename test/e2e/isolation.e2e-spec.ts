import { startApp } from '../factories/app';
import { describeIsolation } from '../support/isolation-suite';

describeIsolation('tenant isolation over HTTP', () => startApp());
