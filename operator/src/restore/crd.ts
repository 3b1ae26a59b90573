import type { CustomResourceDefinition } from '../api/crd';
import {
  GROUP,
  RESTORE_CRD_NAME,
  RESTORE_KIND,
  RESTORE_PLURAL,
  RESTORE_SHORT_NAMES,
  RESTORE_SINGULAR,
  VERSION,
} from './api';

/**
 * The WebranaRestore CustomResourceDefinition, the one source of charts/webrana-operator/crds/
 * webranarestores.webrana.cloud.yaml (written by `webrana-operator crd restore`, compared by a unit
 * test). The spec is immutable once created (a restore runs once; a changed mind is a new resource),
 * which CEL enforces along with what spans fields; validate.ts here says the same for the operator.
 */

type Schema = Record<string, unknown>;
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const time = (description: string): Schema => ({ type: 'string', format: 'date-time', description });
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

const specSchema: Schema = {
  type: 'object',
  required: ['database', 'service', 'backup', 'target'],
  'x-kubernetes-validations': [
    { rule: 'self == oldSelf', message: 'spec is immutable: a restore runs once; create a new WebranaRestore instead' },
    {
      rule: '!has(self.scaleDown) || !self.scaleDown || (has(self.target.inPlace) && self.target.inPlace)',
      message: 'scaleDown applies to target inPlace only',
    },
    {
      rule: "self.backup == 'latest' || self.backup.startsWith(self.service + '-')",
      message: 'backup must be "latest" or a dump of this service (its file name starts with the service)',
    },
  ],
  properties: {
    database: str('A WebranaDatabase in this namespace: its image, credentials and backup volume or bucket are used.', {
      maxLength: 63,
      pattern: DNS_LABEL,
    }),
    service: str('One of its services.', { maxLength: 40, pattern: DNS_LABEL }),
    backup: str(
      '"latest" (the newest completed full dump) or a dump\'s file name, e.g. auth-service-20261130T020000Z.tar.zst.',
      { maxLength: 80, pattern: '^(latest|[a-z0-9-]+-[0-9]{8}T[0-9]{6}Z\\.(tar\\.zst|dump))$' },
    ),
    target: {
      type: 'object',
      description:
        "Exactly one of inPlace: true (the service's database) and newDatabase: NAME (same server; created when missing).",
      'x-kubernetes-validations': [
        {
          rule: 'has(self.inPlace) != has(self.newDatabase)',
          message: 'give exactly one of inPlace and newDatabase',
        },
        { rule: '!has(self.inPlace) || self.inPlace', message: 'inPlace, when given, must be true' },
      ],
      properties: {
        inPlace: { type: 'boolean', description: "Restore into the service's own database." },
        newDatabase: str('Restore into this database on the same server (created when missing).', {
          maxLength: 63,
          pattern: '^[a-z_][a-z0-9_-]*$',
        }),
      },
    },
    scaleDown: {
      type: 'boolean',
      default: false,
      description:
        "inPlace only: scale the service's Deployment to 0 first (its replicas remembered in an annotation), wait for its pods to go, restore, then scale it back.",
    },
    deployment: str(
      "The Deployment scaleDown scales (default: the service's name). It must carry app.kubernetes.io/name or webrana.cloud/service = the service, or the restore fails without scaling it.",
      { maxLength: 63, pattern: DNS_LABEL },
    ),
    source: str("Where the dump is read (default: the database's volume when it has one, else its bucket).", {
      enum: ['volume', 'bucket'],
    }),
  },
};

const conditionSchema: Schema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: str('Complete, Failed or ScaledDown.'),
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
    observedGeneration: { type: 'integer', format: 'int64' },
    phase: str('Pending, Running, Succeeded or Failed.', { enum: ['Pending', 'Running', 'Succeeded', 'Failed'] }),
    reason: str(
      'Why the phase (WaitingForJobs, ScalingDown, Restoring, Restored, DumpNotFound, TargetSchemaNewer, DatabaseNotFound, ServiceNotFound, ...).',
    ),
    message: str('What happened, for people.'),
    job: str('The restore Job (one per WebranaRestore).'),
    dump: str("The dump restored (from the Job's termination message)."),
    targetDatabase: str('The database restored into.'),
    bytes: { type: 'integer', format: 'int64', description: 'Size of the dump.' },
    durationSeconds: { type: 'number', description: 'How long the restore took.' },
    startedAt: time('When the restore Job was created.'),
    finishedAt: time('When the restore ended.'),
    conditions: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: conditionSchema,
    },
  },
};

export function webranaRestoreCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: RESTORE_CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'webrana-operator', 'app.kubernetes.io/part-of': 'webrana' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: RESTORE_KIND,
        listKind: `${RESTORE_KIND}List`,
        plural: RESTORE_PLURAL,
        singular: RESTORE_SINGULAR,
        shortNames: RESTORE_SHORT_NAMES,
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Database', type: 'string', jsonPath: '.spec.database' },
            { name: 'Service', type: 'string', jsonPath: '.spec.service' },
            { name: 'Backup', type: 'string', jsonPath: '.spec.backup' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Dump', type: 'string', jsonPath: '.status.dump' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Reason', type: 'string', priority: 1, jsonPath: '.status.reason' },
            { name: 'Message', type: 'string', priority: 1, jsonPath: '.status.message' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                "WebranaRestore: one restore of one service's database from one dump (webrana-jobs restore, run once as a Job).",
              required: ['spec'],
              'x-kubernetes-validations': [
                {
                  rule: 'self.metadata.name.size() <= 63',
                  message: 'metadata.name must be at most 63 characters (it is a label value on its Job)',
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
