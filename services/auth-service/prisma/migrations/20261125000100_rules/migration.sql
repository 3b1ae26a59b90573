-- Rules Prisma's schema language cannot express, enforced by the database itself.

-- Emails are stored lower-case, so the unique index on email is case-insensitive in effect.
ALTER TABLE "users" ADD CONSTRAINT "users_email_lowercase" CHECK ("email" = lower("email") AND "email" ~ '^[^@\s]+@[^@\s]+$');
ALTER TABLE "users" ADD CONSTRAINT "users_full_name_not_blank" CHECK (btrim("full_name") <> '');

-- Tokens are stored only as SHA-256 hashes (lowercase hex), never raw.
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_token_hash_sha256" CHECK ("token_hash" ~ '^[0-9a-f]{64}$');
ALTER TABLE "verification_tokens" ADD CONSTRAINT "verification_tokens_token_hash_sha256" CHECK ("token_hash" ~ '^[0-9a-f]{64}$');
-- Every element one hash: no NULL element (rendered '?'), none empty, none holding two.
ALTER TABLE "user_mfa" ADD CONSTRAINT "user_mfa_backup_code_hashes_sha256"
  CHECK ("backup_code_hashes" IS NOT NULL AND (cardinality("backup_code_hashes") = 0 OR (
    array_to_string("backup_code_hashes", ',', '?') ~ '^[0-9a-f]{64}(,[0-9a-f]{64})*$'
    AND length(array_to_string("backup_code_hashes", ',', '?')) = 65 * cardinality("backup_code_hashes") - 1)));

-- MFA counts as enabled only with a secret and the time it was enabled.
ALTER TABLE "user_mfa" ADD CONSTRAINT "user_mfa_enabled_has_secret"
  CHECK (NOT "enabled" OR ("secret_encrypted" IS NOT NULL AND "enabled_at" IS NOT NULL));
