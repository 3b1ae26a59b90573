import { CRON_DESCRIPTORS, CRON_PATTERN } from './cron';
import { CRD_NAME, DEFAULTS, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from './types';

/**
 * The CustomResourceDefinition, the one source of truth for charts/webrana-operator/crds/ (written
 * by `webrana-operator crd`, compared by a unit test). What admission can reject, it rejects:
 * OpenAPI types, ranges and patterns, plus CEL rules for what spans several fields (duplicate
 * service names, dependsOn naming an unknown service or the service itself). A dependency cycle is
 * beyond CEL; the operator reports it as the InvalidSpec condition.
 */

// List sizes bound the cost the apiserver estimates for the CEL rules (quadratic in services).
export const MAX_SERVICES = 16;
/** Service names prefix the Jobs' and CronJobs' names, so they stay short. */
export const MAX_SERVICE_NAME = 40;

const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const SECRET_KEY = '^[-._a-zA-Z0-9]+$';

type Schema = Record<string, unknown>;

const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const int = (description: string, min: number, max: number, def?: number): Schema => ({
  type: 'integer',
  format: 'int32',
  description,
  minimum: min,
  maximum: max,
  ...(def === undefined ? {} : { default: def }),
});
const time = (description: string): Schema => ({ type: 'string', format: 'date-time', description });

/** A size as Kubernetes writes it (4Gi, 512Mi, 1000000). */
export const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** A cron schedule, checked by a CEL rule rather than `pattern`, so a rejection explains itself instead of quoting the regex. */
const cronSchedule = (description: string, defaultValue?: string): Schema =>
  str(description, {
    minLength: 1,
    maxLength: 128,
    ...(defaultValue ? { default: defaultValue } : {}),
    'x-kubernetes-validations': [
      {
        rule: `self.matches(r'${CRON_PATTERN}')`,
        messageExpression: `'"' + self + '" is not a cron schedule: expected five fields (minute hour day-of-month month day-of-week, e.g. "0 2 * * *") or one of ${CRON_DESCRIPTORS.join(', ')}'`,
      },
    ],
  });
const quantities: Schema = {
  type: 'object',
  additionalProperties: {
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern:
      '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  },
};

const DURATION = '^[0-9]+(ms|s|m)?$';
const duration = (flag: string, what: string, def: string | undefined): Schema =>
  str(`${flag} of \`webrana-jobs migrate deploy\`: ${what} (500ms, 10s, 2m; the service chart's migrations value).`, {
    pattern: DURATION,
    maxLength: 16,
    ...(def === undefined ? {} : { default: def }),
  });
const id = (description: string): Schema => ({
  type: 'integer',
  format: 'int64',
  description,
  minimum: 1,
  maximum: 2_147_483_647,
});
const preserved = (description: string): Schema => ({
  type: 'object',
  description,
  'x-kubernetes-preserve-unknown-fields': true,
});

/** Where and as whom the migration pod runs: the service chart's scheduling values and podSecurity.*. */
const migrationPodSchema: Schema = {
  type: 'object',
  description:
    "The migration pod's scheduling and ids, as the service chart's nodeSelector, tolerations, affinity, priorityClassName and podSecurity values (the chart's defaults when unset).",
  properties: {
    nodeSelector: {
      type: 'object',
      description: 'nodeSelector of the migration pod.',
      maxProperties: 32,
      additionalProperties: { type: 'string', maxLength: 63 },
    },
    tolerations: {
      type: 'array',
      description: 'Tolerations of the migration pod.',
      maxItems: 32,
      items: {
        type: 'object',
        'x-kubernetes-validations': [
          {
            rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || self.value == ''",
            message: 'a toleration with operator Exists takes no value',
          },
          {
            rule: "(has(self.key) && self.key != '') || (has(self.operator) && self.operator == 'Exists')",
            message: 'a toleration without a key needs operator Exists',
          },
        ],
        properties: {
          key: str('Taint key (empty with operator Exists: every taint).', { maxLength: 316 }),
          operator: str('Exists or Equal (default Equal).', { enum: ['Exists', 'Equal'] }),
          value: str('Taint value (operator Equal).', { maxLength: 63 }),
          effect: str('NoSchedule, PreferNoSchedule or NoExecute; empty: every effect.', {
            enum: ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'],
          }),
          tolerationSeconds: {
            type: 'integer',
            format: 'int64',
            description: 'With NoExecute: how long the pod stays bound after the taint appears.',
          },
        },
      },
    },
    affinity: {
      type: 'object',
      description: 'Affinity of the migration pod (core/v1 Affinity; the apiserver checks it when the Job is created).',
      properties: {
        nodeAffinity: preserved('core/v1 NodeAffinity.'),
        podAffinity: preserved('core/v1 PodAffinity.'),
        podAntiAffinity: preserved('core/v1 PodAntiAffinity.'),
      },
    },
    priorityClassName: str('priorityClassName of the migration pod; empty for none.', {
      pattern: `^$|${DNS_SUBDOMAIN}`,
      maxLength: 253,
    }),
    runAsUser: id(`User id of the migration pod and container (never 0; default ${DEFAULTS.migration.runAsUser}).`),
    runAsGroup: id(`Group id of the migration pod and container (default ${DEFAULTS.migration.runAsGroup}).`),
    fsGroup: id(`Group owning the pod's volumes (default ${DEFAULTS.migration.fsGroup}).`),
  },
};

/**
 * The migration Job's settings. spec.migration carries the defaults; services[].migration has the
 * same fields without defaults, each one given replacing spec.migration's for that service.
 */
function migrationSchema(shared: boolean): Schema {
  const d = shared ? DEFAULTS.migration : undefined;
  return {
    type: 'object',
    description: shared
      ? "Settings of the migration Jobs (one per service and spec generation); defaults are the service chart's (charts/webrana-service migrations.*), so operator and hook run the same pod."
      : "This service's migration settings: each field given replaces spec.migration's (the umbrella chart writes the service's chart values here).",
    ...(shared ? { default: {} } : {}),
    properties: {
      backoffLimit: int(
        'Retries of a failed migration Job. 0 is right for most: a failed migration is recorded in the ledger and a retry stops at that record.',
        0,
        10,
        d?.backoffLimit,
      ),
      activeDeadlineSeconds: int(
        `Longest a migration Job may run (default ${DEFAULTS.migration.activeDeadlineSeconds}, the service chart's, below helm's 5m --timeout).`,
        1,
        86_400,
        d?.activeDeadlineSeconds,
      ),
      wait: duration('--wait', 'how long to wait for the database to accept connections', d?.wait),
      lockTimeout: duration('--lock-timeout', 'longest a DDL statement waits for a table lock', d?.lockTimeout),
      lockWait: duration('--lock-wait', "how long to wait for another runner's migration lock", d?.lockWait),
      statementTimeout: duration(
        '--statement-timeout',
        'longest one statement may run ("0": no limit)',
        d?.statementTimeout,
      ),
      resources: {
        type: 'object',
        description: `Resources of the migration container (default: spec.resources, else requests cpu ${DEFAULTS.migration.resources.requests.cpu} memory ${DEFAULTS.migration.resources.requests.memory}, limit memory ${DEFAULTS.migration.resources.limits.memory}, as the service chart).`,
        properties: { requests: quantities, limits: quantities },
      },
      pod: migrationPodSchema,
    },
  };
}

const specSchema: Schema = {
  type: 'object',
  description: 'What to migrate and back up: the jobs image, the services with their databases, and the Job settings.',
  required: ['image', 'services'],
  'x-kubernetes-validations': [
    {
      rule: 'self.services.all(s, self.services.exists_one(t, t.name == s.name))',
      message: 'spec.services: service names must be unique',
    },
    {
      rule: 'self.services.all(s, !has(s.dependsOn) || s.dependsOn.all(d, self.services.exists(t, t.name == d)))',
      // A messageExpression naming the offender is over the apiserver's CEL cost budget: static text.
      message: 'spec.services: every dependsOn entry must name a service listed in spec.services',
    },
  ],
  properties: {
    image: str('The jobs image (entrypoint webrana-jobs) every migration and backup Job runs.', {
      minLength: 1,
      maxLength: 512,
    }),
    imagePullPolicy: str('Pull policy of the jobs image.', {
      enum: ['Always', 'IfNotPresent', 'Never'],
      default: DEFAULTS.imagePullPolicy,
    }),
    imagePullSecrets: {
      type: 'array',
      description: 'Secrets for pulling the jobs image.',
      maxItems: 8,
      items: {
        type: 'object',
        required: ['name'],
        properties: { name: str('Secret name.', { pattern: DNS_SUBDOMAIN, maxLength: 253 }) },
      },
    },
    serviceAccountName: str(
      "ServiceAccount the Jobs run as (default: the namespace's default). No API token is mounted either way.",
      { pattern: DNS_SUBDOMAIN, maxLength: 253 },
    ),
    resources: {
      type: 'object',
      description:
        "Resources of every Job container (backup; migration unless migration.resources is set, default: the service chart's migration resources).",
      properties: { requests: quantities, limits: quantities },
    },
    services: {
      type: 'array',
      description: 'The services whose databases this resource manages.',
      minItems: 1,
      maxItems: MAX_SERVICES,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        required: ['name', 'databaseUrlSecretRef'],
        'x-kubernetes-validations': [
          {
            rule: '!has(self.dependsOn) || !(self.name in self.dependsOn)',
            messageExpression: "'service ' + self.name + ' cannot depend on itself'",
          },
        ],
        properties: {
          name: str(
            'Service name as the jobs image knows it (auth-service, ...); its URL variable is derived from it (AUTH_DATABASE_URL).',
            { pattern: DNS_LABEL, minLength: 1, maxLength: MAX_SERVICE_NAME },
          ),
          databaseUrlSecretRef: {
            type: 'object',
            description:
              "Secret key holding the service's database URL. The operator never reads it; only the Jobs do.",
            required: ['name', 'key'],
            properties: {
              name: str('Secret name.', { pattern: DNS_SUBDOMAIN, maxLength: 253 }),
              key: str('Key in the Secret.', { pattern: SECRET_KEY, maxLength: 253 }),
            },
          },
          dependsOn: {
            type: 'array',
            description: 'Services whose migrations must succeed before this one starts.',
            maxItems: MAX_SERVICES,
            'x-kubernetes-list-type': 'set',
            items: { type: 'string', maxLength: MAX_SERVICE_NAME },
          },
          migration: migrationSchema(false),
          deployment: str(
            'The Deployment (same namespace) running this service. When set, its post-deploy migrations (-- webrana:phase post-deploy) run once this Deployment reports the new generation rolled out; unset, the operator never runs them.',
            { pattern: DNS_SUBDOMAIN, maxLength: 253 },
          ),
        },
      },
    },
    migration: migrationSchema(true),
    backup: {
      type: 'object',
      description:
        'pg_dump CronJobs, one per service. Without it, no CronJobs. Dumps go to the volume, the bucket (s3), or both.',
      required: ['schedule'],
      'x-kubernetes-validations': [
        {
          rule: 'has(self.volumeClaimName) || has(self.s3)',
          message: 'spec.backup needs volumeClaimName, s3, or both (where the dumps go)',
        },
      ],
      properties: {
        schedule: cronSchedule(
          'Cron schedule: five fields (minute hour day-of-month month day-of-week) or @daily and the like.',
        ),
        timeZone: str(
          'Time zone of the schedule (IANA name, e.g. Asia/Jakarta); default: the controller-manager time zone.',
          {
            maxLength: 64,
          },
        ),
        retention: {
          type: 'object',
          description:
            'How many dumps to keep (restic-style: newest dump of each of the last N days/ISO weeks/months).',
          default: {},
          properties: {
            daily: int('Days.', 0, 1000, DEFAULTS.backup.retention.daily),
            weekly: int('ISO weeks.', 0, 1000, DEFAULTS.backup.retention.weekly),
            monthly: int('Months.', 0, 1000, DEFAULTS.backup.retention.monthly),
          },
        },
        volumeClaimName: str('PersistentVolumeClaim the dumps are written to (mounted at /backups).', {
          pattern: DNS_SUBDOMAIN,
          maxLength: 253,
        }),
        s3: {
          type: 'object',
          description:
            'An S3-compatible bucket the dumps go to (webrana-jobs backup --s3-url), with the same names, manifests and retention as on the volume.',
          required: ['bucket'],
          properties: {
            bucket: str('Bucket name.', { pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', maxLength: 63 }),
            prefix: str('Key prefix; dumps go to <prefix>/<service>/.', { maxLength: 512 }),
            endpoint: str('AWS_ENDPOINT_URL of the store (unset: AWS S3).', { pattern: '^https?://', maxLength: 512 }),
            region: str('AWS_REGION (default us-east-1).', { maxLength: 64 }),
            forcePathStyle: { type: 'boolean', description: 'Path-style URLs (most self-hosted stores need them).' },
            credentialsSecretRef: {
              type: 'object',
              description:
                'A Secret in the namespace with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (unset: the SDK default chain, e.g. web identity).',
              required: ['name'],
              properties: { name: str('Secret name.', { pattern: DNS_SUBDOMAIN, maxLength: 253 }) },
            },
          },
        },
        verify: {
          type: 'object',
          description:
            'Restore drills: a CronJob per service restores the newest dump into a scratch database on the same server (the role needs CREATEDB), checks its migration head and row counts against the manifest and drops it; the outcome is the BackupVerified condition, status.services[].backup.verify and webrana_backup_last_verified_timestamp_seconds. Absent: no drills. suspend stops them too.',
          properties: {
            schedule: cronSchedule(
              'Cron schedule of the drills (the backup timeZone applies).',
              DEFAULTS.backup.verify.schedule,
            ),
            tmpSizeLimit: str("Size limit of the drill pod's /tmp, where the dump is unpacked (about 4x the dump).", {
              pattern: QUANTITY.source,
              default: DEFAULTS.backup.verify.tmpSizeLimit,
            }),
          },
        },
        suspend: {
          type: 'boolean',
          description: 'Pause the schedule (backups and restore drills).',
          default: DEFAULTS.backup.suspend,
        },
        successfulJobsHistoryLimit: int(
          'Finished backup Jobs kept per service.',
          0,
          100,
          DEFAULTS.backup.successfulJobsHistoryLimit,
        ),
        failedJobsHistoryLimit: int(
          'Failed backup Jobs kept per service.',
          0,
          100,
          DEFAULTS.backup.failedJobsHistoryLimit,
        ),
        startingDeadlineSeconds: int(
          'A run that could not start within this many seconds of its time is skipped.',
          10,
          86_400,
          DEFAULTS.backup.startingDeadlineSeconds,
        ),
        activeDeadlineSeconds: int('Longest a backup Job may run.', 1, 86_400, DEFAULTS.backup.activeDeadlineSeconds),
        backoffLimit: int('Retries of a failed backup Job.', 0, 10, DEFAULTS.backup.backoffLimit),
      },
    },
  },
};

const conditionSchema: Schema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: str('Ready, Progressing, Degraded, InvalidSpec, PostDeployMigrated or BackupVerified.'),
    status: str('True, False or Unknown.', { enum: ['True', 'False', 'Unknown'] }),
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: time('When status last changed.'),
    reason: str('CamelCase reason.'),
    message: str('What happened, for people.'),
  },
};

const statusSchema: Schema = {
  type: 'object',
  description: 'Written by the operator.',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64', description: 'The generation this status describes.' },
    phase: str('Pending, Migrating, Ready, Degraded or InvalidSpec.'),
    progress: str('Migrations of the observed generation that succeeded, as "done/total".'),
    services: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        required: ['name', 'phase'],
        properties: {
          name: str('Service.'),
          phase: str('Pending, Waiting, Running, Succeeded, Failed or Blocked (a dependency failed).'),
          job: str('Migration Job of the observed generation.'),
          startedAt: time('When the migration Job started.'),
          finishedAt: time('When it finished.'),
          message: str('Why it waits, or the error of the failed Job.'),
          postDeploy: {
            type: 'object',
            description: 'The post-deploy migrations (only for a service that names its deployment).',
            required: ['phase', 'deployment', 'job', 'message'],
            properties: {
              phase: str(
                'Pending, Waiting (for the rollout), Running, Succeeded, Failed or Blocked (the rollout failed).',
              ),
              deployment: str('The Deployment whose rollout they wait for.'),
              job: str('The post-deploy migration Job of the observed generation.'),
              startedAt: time('When the Job started.'),
              finishedAt: time('When it finished.'),
              message: str('What it waits for, or the outcome.'),
            },
          },
          backup: {
            type: 'object',
            required: ['cronJob'],
            properties: {
              cronJob: str('The backup CronJob.'),
              lastScheduleTime: time('When a backup Job was last scheduled.'),
              lastSuccessfulTime: time('When a backup Job last succeeded.'),
              lastJob: str('The newest backup Job.'),
              lastResult: str('Running, Succeeded or Failed.'),
              lastFinishedAt: time('When the newest backup Job finished.'),
              lastMessage: str('The error of the newest backup Job, when it failed.'),
              verify: {
                type: 'object',
                description: 'Restore drills (spec.backup.verify).',
                required: ['cronJob'],
                properties: {
                  cronJob: str('The drill CronJob.'),
                  lastJob: str('The newest drill Job.'),
                  lastResult: str('Running, Passed or Failed.'),
                  lastFinishedAt: time('When the newest drill finished.'),
                  lastFile: str('The dump the newest drill restored.'),
                  lastMessage: str('Why the newest drill failed.'),
                  lastDumpFailed: {
                    type: 'boolean',
                    description:
                      'The newest drill failed on the dump itself: its manifest is marked, restore --latest skips it.',
                  },
                  lastPass: {
                    type: 'object',
                    description: 'The newest passing drill (kept when its Job is gone).',
                    required: ['job', 'verifiedAt'],
                    properties: {
                      job: str('The drill Job.'),
                      verifiedAt: time('When it passed.'),
                      file: str('The dump it restored.'),
                      dumpCreatedAt: time('When that dump was taken.'),
                    },
                  },
                },
              },
              lastSuccess: {
                type: 'object',
                description:
                  "The newest successful backup, from its Job's termination message (kept when the Job is gone).",
                required: ['job', 'finishedAt'],
                properties: {
                  job: str('The Job that wrote it.'),
                  finishedAt: time('When it finished.'),
                  bytes: { type: 'integer', format: 'int64', description: 'Size of the dump.' },
                  durationSeconds: { type: 'number', description: 'How long the backup took.' },
                  file: str('Name of the dump file.'),
                },
              },
            },
          },
        },
      },
    },
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: conditionSchema,
    },
    backupNow: str(
      'The last webrana.cloud/backup-now annotation value whose backup Jobs were created (each value runs once).',
    ),
  },
};

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Schema;
}

export function webranaDatabaseCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'webrana-operator', 'app.kubernetes.io/part-of': 'webrana' },
    },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Migrated', type: 'string', jsonPath: '.status.progress' },
            { name: 'Schedule', type: 'string', jsonPath: '.spec.backup.schedule' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            {
              name: 'Message',
              type: 'string',
              priority: 1,
              jsonPath: '.status.conditions[?(@.type=="Ready")].message',
            },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'WebranaDatabase: the databases of a set of services, migrated in dependency order and backed up by pg_dump CronJobs.',
              required: ['spec'],
              'x-kubernetes-validations': [
                {
                  rule: 'self.metadata.name.size() <= 63',
                  message: 'metadata.name must be at most 63 characters (it is a label value on every Job)',
                },
              ],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema,
                status: statusSchema,
              },
            },
          },
        },
      ],
    },
  };
}
