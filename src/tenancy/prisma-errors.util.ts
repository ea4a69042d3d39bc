// How repositories recognise Prisma's errors without exposing Prisma types to services.

/** Prisma's known request errors carry a `P…` code (P2002 unique violation, P2003 foreign key, P2025 not found). */
export function prismaCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
