import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { retryOnWriteConflict } from '../database/prisma-errors.util';
import { TenantConnectionService } from '../tenancy/tenant-connection.service';

/** What presenting a refresh token came to; `user` is the row's owner as the database had it in the same transaction. */
export type Rotation =
  | { rotated: { id: string; userId: string; role: string } }
  | { refused: 'unknown' | 'expired' | 'inactive-user' }
  | { refused: 'reused'; userId: string; familyId: string };

/** Refresh tokens of the current tenant, by the sha256 of the token (the token itself is never stored). */
@Injectable()
export class RefreshTokensRepository {
  constructor(private readonly connections: TenantConnectionService) {}

  /** A new row; a new family unless `familyId` is given. */
  async create(data: { userId: string; tokenHash: string; expiresAt: Date; familyId?: string }): Promise<void> {
    const id = randomUUID();
    await this.connections.current().refreshToken.create({ data: { id, familyId: data.familyId ?? id, ...data } });
  }

  /**
   * Replaces the token with hash `presented` by a new row of the same family, in one serializable transaction:
   * of two requests presenting the same token at once, one rotates and the other sees a revoked row. A revoked
   * (rotated or logged-out) token revokes its whole family; that revocation commits even though the refresh fails.
   */
  rotate(presented: string, next: { tokenHash: string; expiresAt: Date }, now: Date): Promise<Rotation> {
    return retryOnWriteConflict(() =>
      this.connections.current().$transaction(
        async (tx): Promise<Rotation> => {
          const row = await tx.refreshToken.findUnique({
            where: { tokenHash: presented },
            select: { id: true, familyId: true, userId: true, revokedAt: true, expiresAt: true, user: { select: { status: true, role: true } } },
          });
          if (!row) return { refused: 'unknown' };
          if (row.revokedAt) {
            await tx.refreshToken.updateMany({ where: { familyId: row.familyId, revokedAt: null }, data: { revokedAt: now } });
            return { refused: 'reused', userId: row.userId, familyId: row.familyId };
          }
          if (row.expiresAt <= now) return { refused: 'expired' };
          if (row.user.status !== 'ACTIVE') {
            await tx.refreshToken.updateMany({ where: { familyId: row.familyId, revokedAt: null }, data: { revokedAt: now } });
            return { refused: 'inactive-user' };
          }
          const id = randomUUID();
          await tx.refreshToken.create({ data: { id, familyId: row.familyId, userId: row.userId, ...next } });
          await tx.refreshToken.update({ where: { id: row.id }, data: { revokedAt: now, replacedById: id } });
          return { rotated: { id, userId: row.userId, role: row.user.role } };
        },
        { isolationLevel: 'Serializable' },
      ),
    );
  }

  /** Revokes every live token of the family `presented` belongs to; the owner, or null for an unknown token. */
  revokeFamilyOf(presented: string, now: Date): Promise<{ userId: string; familyId: string } | null> {
    return retryOnWriteConflict(() =>
      this.connections.current().$transaction(
        async (tx) => {
          const row = await tx.refreshToken.findUnique({ where: { tokenHash: presented }, select: { familyId: true, userId: true } });
          if (!row) return null;
          await tx.refreshToken.updateMany({ where: { familyId: row.familyId, revokedAt: null }, data: { revokedAt: now } });
          return row;
        },
        { isolationLevel: 'Serializable' },
      ),
    );
  }

  /** Revokes every live token of the user (password change, deactivation); how many were live. */
  revokeAllOf(userId: string, now: Date): Promise<number> {
    return retryOnWriteConflict(() =>
      this.connections
        .current()
        .$transaction((tx) => tx.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: now } }), {
          isolationLevel: 'Serializable',
        })
        .then(({ count }) => count),
    );
  }
}
