import { createHash } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { PrismaClient } from '../src/generated/prisma/client';

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await migratedTestDatabase('auth-service');
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
});
afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

/** Lowercase hex SHA-256, the only form a token may be stored in. */
const sha256 = (raw: string) => createHash('sha256').update(raw).digest('hex');

let userCounter = 0;
function newUser(overrides: Record<string, unknown> = {}) {
  userCounter += 1;
  return prisma.user.create({
    data: {
      email: `user${userCounter}@webrana.test`,
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
      fullName: `Test User ${userCounter}`,
      ...overrides,
    },
  });
}

let tokenCounter = 0;
const nextTokenHash = () => sha256(`raw-token-${(tokenCounter += 1)}`);
const inOneHour = () => new Date(Date.now() + 60 * 60 * 1000);

async function newRefreshToken(overrides: Record<string, unknown> = {}) {
  const user = await newUser();
  return prisma.refreshToken.create({
    data: { userId: user.id, tokenHash: nextTokenHash(), expiresAt: inOneHour(), ...overrides },
  });
}

async function newVerificationToken(overrides: Record<string, unknown> = {}) {
  const user = await newUser();
  return prisma.verificationToken.create({
    data: {
      userId: user.id,
      purpose: 'email_verification',
      tokenHash: nextTokenHash(),
      expiresAt: inOneHour(),
      ...overrides,
    },
  });
}

async function newMfa(overrides: Record<string, unknown> = {}) {
  const user = await newUser();
  return prisma.userMfa.create({ data: { userId: user.id, ...overrides } });
}

describe('auth CHECK constraints', () => {
  test('an email with upper-case letters is rejected by users_email_lowercase', async () => {
    await expect(newUser({ email: 'Budi@WeBrana.test' })).rejects.toThrow(/users_email_lowercase/);
  });

  test('an email without a local part before "@" is rejected by users_email_lowercase', async () => {
    await expect(newUser({ email: '@webrana.test' })).rejects.toThrow(/users_email_lowercase/);
    await expect(newUser({ email: 'no-at-sign.webrana.test' })).rejects.toThrow(/users_email_lowercase/);
  });

  test('an email with white space in it is rejected by users_email_lowercase', async () => {
    await expect(newUser({ email: ' budi@webrana.test' })).rejects.toThrow(/users_email_lowercase/);
    await expect(newUser({ email: 'bu di@webrana.test' })).rejects.toThrow(/users_email_lowercase/);
  });

  test('the same (lower-case) email cannot be registered twice (users_email_key)', async () => {
    await newUser({ email: 'dup@webrana.test' });
    await expect(
      withClient(db.url, (c) =>
        c.query(`INSERT INTO users (email, password_hash, full_name) VALUES ('dup@webrana.test', 'x', 'Dup')`),
      ),
    ).rejects.toMatchObject({ code: '23505', constraint: 'users_email_key' });
  });

  test('a blank full name is rejected by users_full_name_not_blank', async () => {
    await expect(newUser({ fullName: '   ' })).rejects.toThrow(/users_full_name_not_blank/);
  });

  test('a raw (unhashed) refresh token is rejected by refresh_tokens_token_hash_sha256', async () => {
    const user = await newUser();
    await expect(
      prisma.refreshToken.create({
        data: { userId: user.id, tokenHash: 'eyJhbGciOiJIUzI1NiJ9.raw-refresh-token', expiresAt: inOneHour() },
      }),
    ).rejects.toThrow(/refresh_tokens_token_hash_sha256/);
  });

  test('an upper-case hex refresh token hash is rejected by refresh_tokens_token_hash_sha256', async () => {
    const user = await newUser();
    await expect(
      prisma.refreshToken.create({
        data: { userId: user.id, tokenHash: nextTokenHash().toUpperCase(), expiresAt: inOneHour() },
      }),
    ).rejects.toThrow(/refresh_tokens_token_hash_sha256/);
  });

  test('a too-short refresh token hash (padded by CHAR(64)) is rejected by refresh_tokens_token_hash_sha256', async () => {
    const user = await newUser();
    await expect(
      prisma.refreshToken.create({
        data: { userId: user.id, tokenHash: nextTokenHash().slice(0, 40), expiresAt: inOneHour() },
      }),
    ).rejects.toThrow(/refresh_tokens_token_hash_sha256/);
  });

  test('a raw (unhashed) verification token is rejected by verification_tokens_token_hash_sha256', async () => {
    const user = await newUser();
    await expect(
      prisma.verificationToken.create({
        data: {
          userId: user.id,
          purpose: 'password_reset',
          tokenHash: 'reset-me-please-123456',
          expiresAt: inOneHour(),
        },
      }),
    ).rejects.toThrow(/verification_tokens_token_hash_sha256/);
  });

  test('a backup code stored in clear is rejected by user_mfa_backup_code_hashes_sha256', async () => {
    await expect(newMfa({ backupCodeHashes: [sha256('code-1'), '12345678'] })).rejects.toThrow(
      /user_mfa_backup_code_hashes_sha256/,
    );
  });

  test.each([
    ['an empty element', () => ['']],
    ['two hashes in one element', () => [`${sha256('a')},${sha256('b')}`]],
    ['a NULL element', () => [sha256('a'), null]],
  ])('backup codes with %s are rejected by user_mfa_backup_code_hashes_sha256', async (_label, codes) => {
    const mfa = await newMfa();
    await expect(
      withClient(db.url, (c) =>
        c.query('UPDATE user_mfa SET backup_code_hashes = $1 WHERE id = $2', [codes(), mfa.id]),
      ),
    ).rejects.toThrow(/user_mfa_backup_code_hashes_sha256/);
  });

  test('a NULL backup code list is rejected by user_mfa_backup_code_hashes_sha256', async () => {
    const mfa = await newMfa();
    await expect(
      withClient(db.url, (c) => c.query('UPDATE user_mfa SET backup_code_hashes = NULL WHERE id = $1', [mfa.id])),
    ).rejects.toThrow(/user_mfa_backup_code_hashes_sha256/);
  });

  test('MFA enabled without a secret is rejected by user_mfa_enabled_has_secret', async () => {
    await expect(newMfa({ enabled: true, enabledAt: new Date() })).rejects.toThrow(/user_mfa_enabled_has_secret/);
  });

  test('MFA enabled without the time it was enabled is rejected by user_mfa_enabled_has_secret', async () => {
    await expect(newMfa({ enabled: true, secretEncrypted: 'v1:aes-gcm:ciphertext' })).rejects.toThrow(
      /user_mfa_enabled_has_secret/,
    );
  });

  test('disabling MFA that is enabled keeps the row valid, but removing the secret of enabled MFA is rejected', async () => {
    const mfa = await newMfa({ enabled: true, secretEncrypted: 'v1:aes-gcm:ciphertext', enabledAt: new Date() });
    await expect(prisma.userMfa.update({ where: { id: mfa.id }, data: { secretEncrypted: null } })).rejects.toThrow(
      /user_mfa_enabled_has_secret/,
    );
    expect((await prisma.userMfa.update({ where: { id: mfa.id }, data: { enabled: false } })).enabled).toBe(false);
  });
});

describe('auth-service Prisma client round trip', () => {
  test('User: create, read, update, delete (deleting cascades to tokens and MFA)', async () => {
    const created = await newUser({ email: 'siti@webrana.test', fullName: 'Siti Rahayu' });
    expect(await prisma.user.findUnique({ where: { email: 'siti@webrana.test' } })).toMatchObject({
      id: created.id,
      fullName: 'Siti Rahayu',
      role: 'customer',
      status: 'pending_verification',
      emailVerifiedAt: null,
      lastLoginAt: null,
      createdAt: expect.any(Date),
    });
    const verifiedAt = new Date('2026-02-03T04:05:06.789Z');
    const updated = await prisma.user.update({
      where: { id: created.id },
      data: { role: 'admin', status: 'active', emailVerifiedAt: verifiedAt, lastLoginAt: verifiedAt },
    });
    expect(updated).toMatchObject({
      role: 'admin',
      status: 'active',
      emailVerifiedAt: verifiedAt,
      lastLoginAt: verifiedAt,
    });
    expect(updated.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());

    await prisma.refreshToken.create({
      data: { userId: created.id, tokenHash: nextTokenHash(), expiresAt: inOneHour() },
    });
    await prisma.verificationToken.create({
      data: { userId: created.id, purpose: 'password_reset', tokenHash: nextTokenHash(), expiresAt: inOneHour() },
    });
    await prisma.userMfa.create({ data: { userId: created.id } });
    await prisma.user.delete({ where: { id: created.id } });
    expect(await prisma.user.findUnique({ where: { id: created.id } })).toBeNull();
    expect(await prisma.refreshToken.count({ where: { userId: created.id } })).toBe(0);
    expect(await prisma.verificationToken.count({ where: { userId: created.id } })).toBe(0);
    expect(await prisma.userMfa.count({ where: { userId: created.id } })).toBe(0);
  });

  test('RefreshToken: create, read, update (rotation and revocation), delete', async () => {
    const token = await newRefreshToken({ userAgent: 'Mozilla/5.0', ipAddress: '2001:db8::1' });
    expect(await prisma.refreshToken.findUnique({ where: { tokenHash: token.tokenHash } })).toMatchObject({
      id: token.id,
      tokenHash: token.tokenHash,
      revokedAt: null,
      replacedById: null,
      userAgent: 'Mozilla/5.0',
      ipAddress: '2001:db8::1',
      expiresAt: token.expiresAt,
    });
    const successor = await prisma.refreshToken.create({
      data: { userId: token.userId, tokenHash: nextTokenHash(), expiresAt: inOneHour() },
    });
    const revokedAt = new Date('2026-03-01T10:00:00.123Z');
    const rotated = await prisma.refreshToken.update({
      where: { id: token.id },
      data: { revokedAt, replacedById: successor.id },
    });
    expect(rotated).toMatchObject({ revokedAt, replacedById: successor.id });
    await prisma.refreshToken.delete({ where: { id: token.id } });
    expect(await prisma.refreshToken.findUnique({ where: { id: token.id } })).toBeNull();
    expect(await prisma.refreshToken.findUnique({ where: { id: successor.id } })).not.toBeNull();
  });

  test('VerificationToken: create, read, update (mark used), delete', async () => {
    const token = await newVerificationToken({ purpose: 'password_reset' });
    expect(await prisma.verificationToken.findUnique({ where: { id: token.id } })).toMatchObject({
      purpose: 'password_reset',
      tokenHash: token.tokenHash,
      usedAt: null,
    });
    const usedAt = new Date('2026-03-02T08:30:00.000Z');
    expect((await prisma.verificationToken.update({ where: { id: token.id }, data: { usedAt } })).usedAt).toEqual(
      usedAt,
    );
    expect(
      await prisma.verificationToken.findMany({
        where: { userId: token.userId, purpose: 'password_reset', usedAt: { not: null } },
      }),
    ).toHaveLength(1);
    await prisma.verificationToken.delete({ where: { id: token.id } });
    expect(await prisma.verificationToken.findUnique({ where: { id: token.id } })).toBeNull();
  });

  test('UserMfa: create, read, update (enable with secret and backup codes), delete', async () => {
    const mfa = await newMfa();
    expect(await prisma.userMfa.findUnique({ where: { userId: mfa.userId } })).toMatchObject({
      method: 'totp',
      enabled: false,
      secretEncrypted: null,
      backupCodeHashes: [],
      enabledAt: null,
    });
    const codes = [sha256('backup-1'), sha256('backup-2'), sha256('backup-3')];
    const enabledAt = new Date('2026-04-01T00:00:00.500Z');
    const enabled = await prisma.userMfa.update({
      where: { id: mfa.id },
      data: { enabled: true, secretEncrypted: 'v1:aes-gcm:iv:ciphertext:tag', enabledAt, backupCodeHashes: codes },
    });
    expect(enabled).toMatchObject({ enabled: true, enabledAt, backupCodeHashes: codes });
    expect((await prisma.userMfa.findUniqueOrThrow({ where: { id: mfa.id } })).backupCodeHashes).toEqual(codes);
    await expect(prisma.userMfa.create({ data: { userId: mfa.userId } })).rejects.toThrow(/Unique constraint/);
    await prisma.userMfa.delete({ where: { id: mfa.id } });
    expect(await prisma.userMfa.findUnique({ where: { id: mfa.id } })).toBeNull();
  });
});
