import type * as ClientS3 from '@aws-sdk/client-s3';
import type { S3Client, ServerSideEncryption } from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import type { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';

// The SDK takes a quarter of a second to load: only runs that reach a bucket pay for it, not every
// webrana-jobs start (each migration Job is one).
/* eslint-disable @typescript-eslint/no-require-imports */
const clientS3 = (): typeof ClientS3 => require('@aws-sdk/client-s3') as typeof ClientS3;
const libStorage = (): typeof LibStorage => require('@aws-sdk/lib-storage') as typeof LibStorage;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Where dumps go in a bucket: s3://<bucket>/<prefix>; a service's dumps are under <prefix>/<service>/. */
export interface S3Location {
  bucket: string;
  /** Without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
}

/** How to reach the store, from the standard AWS variables (see s3Settings). Never logged whole. */
export interface S3Settings {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Absent: the SDK's default chain (web identity, instance profile, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  sse?: { mode: ServerSideEncryption; kmsKeyId?: string };
}

export class S3Error extends Error {}

/** s3://bucket/some/prefix -> { bucket, prefix: 'some/prefix' }. Pure. */
export function parseS3Url(url: string): S3Location {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match) throw new S3Error(`not an S3 URL (s3://bucket/prefix): "${url}"`);
  return { bucket: match[1]!, prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

export const s3Url = (loc: S3Location, key = loc.prefix): string => `s3://${loc.bucket}/${key}`;

/** The folder (key prefix, ending in '/') of one service's dumps. */
export const serviceKeyPrefix = (loc: S3Location, service: string): string =>
  `${loc.prefix ? `${loc.prefix}/` : ''}${service}/`;

const TRUE = /^(1|true|yes)$/i;

/**
 * The store's settings from the variables every S3 tool reads: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL,
 * AWS_REGION or AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), and
 * ours for what AWS has no variable for: AWS_S3_FORCE_PATH_STYLE (most self-hosted stores need it),
 * BACKUP_S3_SSE and BACKUP_S3_SSE_KMS_KEY_ID. Pure.
 */
export function s3Settings(env: NodeJS.ProcessEnv): S3Settings {
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = env;
  if (Boolean(id) !== Boolean(secret)) {
    throw new S3Error(
      `set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (${id ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'} is missing)`,
    );
  }
  const sse = env.BACKUP_S3_SSE;
  if (sse && !['AES256', 'aws:kms', 'aws:kms:dsse'].includes(sse))
    throw new S3Error(`BACKUP_S3_SSE is AES256, aws:kms or aws:kms:dsse; got "${sse}"`);
  if (env.BACKUP_S3_SSE_KMS_KEY_ID && !sse?.startsWith('aws:kms'))
    throw new S3Error('BACKUP_S3_SSE_KMS_KEY_ID needs BACKUP_S3_SSE=aws:kms');
  return {
    endpoint: env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: TRUE.test(env.AWS_S3_FORCE_PATH_STYLE ?? ''),
    credentials:
      id && secret ? { accessKeyId: id, secretAccessKey: secret, sessionToken: token || undefined } : undefined,
    sse: sse ? { mode: sse as ServerSideEncryption, kmsKeyId: env.BACKUP_S3_SSE_KMS_KEY_ID || undefined } : undefined,
  };
}

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'CredentialsProviderError',
  'XAdminUserNotFound', // versitygw: no such access key
]);
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET']);

/**
 * What went wrong, in words that name the variable to fix. Built from the error's name and code and
 * our settings' endpoint only: never from a credential. Pure.
 */
export function describeS3Error(error: unknown, doing: string, settings: S3Settings): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const where = settings.endpoint ?? `AWS S3 (${settings.region})`;
  if (NETWORK_ERRORS.has(code) || NETWORK_ERRORS.has(e.name ?? ''))
    return `${doing}: cannot reach the object store at ${where} (${code || e.name}): check AWS_ENDPOINT_URL and that the store is running`;
  if (CREDENTIAL_ERRORS.has(e.name ?? ''))
    return `${doing}: the object store at ${where} refused the credentials (${e.name}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY${settings.credentials ? '' : ' (neither is set)'}`;
  if (e.name === 'NoSuchBucket') return `${doing}: no such bucket at ${where}: check the bucket in the s3:// URL`;
  return `${doing}: ${e.name ?? 'error'}: ${e.message ?? String(error)}`;
}

/** One object of a listing, by its name inside the folder listed. */
export interface ListedObject {
  name: string;
  bytes: number;
}

/** The few operations backup and restore need, on one bucket. */
export class ObjectStore {
  readonly client: S3Client;

  constructor(
    readonly location: S3Location,
    readonly settings: S3Settings,
  ) {
    // The SDK warns on every run that releases after January 2027 need Node 22; the platform runs Node 20
    // (ARCHITECTURE.md) and the lock file pins a release that supports it: noise in every Job's log.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new (clientS3().S3Client)({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.credentials,
      // Checksums only when the operation requires them: self-hosted stores vary in what they accept.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Runs an SDK call, turning its failure into an S3Error that names what to fix. */
  private async call<T>(doing: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new S3Error(describeS3Error(error, doing, this.settings));
    }
  }

  /** Every object directly under `folder` (a key prefix ending in '/'), all pages of the listing. */
  async list(folder: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`listing ${s3Url(this.location, folder)}`, () =>
        this.client.send(
          new (clientS3().ListObjectsV2Command)({
            Bucket: this.location.bucket,
            Prefix: folder,
            Delimiter: '/',
            ContinuationToken: token,
          }),
        ),
      );
      for (const o of page.Contents ?? []) out.push({ name: o.Key!.slice(folder.length), bytes: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private sseParams() {
    const sse = this.settings.sse;
    return sse ? { ServerSideEncryption: sse.mode, SSEKMSKeyId: sse.kmsKeyId } : {};
  }

  /** Streams `body` to `key` (multipart above 8 MB); on failure the upload is aborted when the store still answers. */
  async upload(key: string, body: Readable, onStart?: (upload: Upload) => void): Promise<void> {
    const upload = new (libStorage().Upload)({
      client: this.client,
      params: { Bucket: this.location.bucket, Key: key, Body: body, ...this.sseParams() },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
      leavePartsOnError: false,
    });
    onStart?.(upload);
    await this.call(`uploading ${s3Url(this.location, key)}`, () => upload.done());
  }

  async putText(key: string, text: string): Promise<void> {
    await this.call(`writing ${s3Url(this.location, key)}`, () =>
      this.client.send(
        new (clientS3().PutObjectCommand)({
          Bucket: this.location.bucket,
          Key: key,
          Body: text,
          ContentType: 'application/json',
          ...this.sseParams(),
        }),
      ),
    );
  }

  async get(key: string): Promise<Readable> {
    const res = await this.call(`reading ${s3Url(this.location, key)}`, () =>
      this.client.send(new (clientS3().GetObjectCommand)({ Bucket: this.location.bucket, Key: key })),
    );
    return res.Body as Readable;
  }

  /** An object's text, or null when there is no such object. */
  async getText(key: string): Promise<string | null> {
    try {
      const res = await this.client.send(new (clientS3().GetObjectCommand)({ Bucket: this.location.bucket, Key: key }));
      return await res.Body!.transformToString();
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return null;
      throw new S3Error(describeS3Error(error, `reading ${s3Url(this.location, key)}`, this.settings));
    }
  }

  async delete(key: string): Promise<void> {
    await this.call(`deleting ${s3Url(this.location, key)}`, () =>
      this.client.send(new (clientS3().DeleteObjectCommand)({ Bucket: this.location.bucket, Key: key })),
    );
  }

  /** Multipart uploads begun under `folder` and never completed, all pages. */
  async incompleteUploads(folder: string): Promise<{ key: string; uploadId: string; initiated: Date }[]> {
    const out: { key: string; uploadId: string; initiated: Date }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.call(`listing incomplete uploads under ${s3Url(this.location, folder)}`, () =>
        this.client.send(
          new (clientS3().ListMultipartUploadsCommand)({
            Bucket: this.location.bucket,
            Prefix: folder,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        ),
      );
      for (const u of page.Uploads ?? [])
        out.push({ key: u.Key!, uploadId: u.UploadId!, initiated: u.Initiated ?? new Date(0) });
      if (!page.IsTruncated) return out;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async abortUpload(key: string, uploadId: string): Promise<void> {
    await this.call(`aborting the incomplete upload of ${s3Url(this.location, key)}`, () =>
      this.client.send(
        new (clientS3().AbortMultipartUploadCommand)({ Bucket: this.location.bucket, Key: key, UploadId: uploadId }),
      ),
    );
  }

  destroy(): void {
    this.client.destroy();
  }
}
