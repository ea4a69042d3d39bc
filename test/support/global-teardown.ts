export default async function globalTeardown(): Promise<void> {
  await globalThis.__TENANTRY_STOP_DB__?.();
}
