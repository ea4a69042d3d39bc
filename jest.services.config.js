// Tests that need service binaries (redis-server, pgbouncer); they start their own instances.
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/services/**/*.services-spec.ts'],
  maxWorkers: 1,
};
