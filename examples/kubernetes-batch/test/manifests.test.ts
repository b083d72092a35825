/**
 * The Kubernetes manifests of this example, checked against the Kubernetes API's own schemas (kubernetes-models:
 * batch/v1 Job, core/v1 PersistentVolume/Claim) and against the rules the API server adds on top (an Indexed Job
 * with a pod failure policy needs restartPolicy Never, FailIndex needs backoffLimitPerIndex, …); the exit codes the
 * policy fails an index on are the CLI's; then the Job's own command line is run for every index, as its pods
 * would run it, on two shared images.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Job } from 'kubernetes-models/batch/v1';
import { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EXIT_USAGE } from '../../../packages/cli/dist/args.js';
import { EXIT_TOO_MANY_ERRORS } from '../../../packages/cli/dist/batch/errors.js';
import { repoRoot, shared } from '../../../test/support/shared-data.js';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const documents = (file: string) =>
  parseAllDocuments(readFileSync(path.join(here, file), 'utf8')).map(
    (d) => d.toJS() as Record<string, unknown>,
  );

const [jobDoc] = documents('job.yaml');
const job = new Job(jobDoc as ConstructorParameters<typeof Job>[0]);
const spec = job.spec!;
const pod = spec.template.spec!;
const container = pod.containers.find((c) => c.name === 'classify')!;
const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));

describe('job.yaml', () => {
  it('is a valid batch/v1 Job', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(() => job.validate()).not.toThrow();
  });

  it('the schema check catches broken Jobs (so passing it means something)', () => {
    /** The fields these cases break, loosely typed: they are set to values the schema must refuse. */
    type Loose = {
      spec: {
        completionMode: unknown;
        completions: unknown;
        podFailurePolicy: { rules: [{ action: unknown }] };
        template: { spec: { containers: [{ name?: unknown }] } };
      };
    };
    const broken = (patch: (doc: Loose) => void) => {
      const doc = structuredClone(jobDoc) as unknown as Loose;
      patch(doc);
      return () => new Job(doc as unknown as ConstructorParameters<typeof Job>[0]).validate();
    };
    expect(broken((d) => (d.spec.completionMode = 'Indexd'))).toThrow();
    expect(broken((d) => (d.spec.podFailurePolicy.rules[0].action = 'Retry'))).toThrow();
    expect(broken((d) => (d.spec.completions = 'eight'))).toThrow();
    expect(broken((d) => delete d.spec.template.spec.containers[0].name)).toThrow();
  });

  it('an Indexed Job whose pod failure policy fails an index on the CLI’s usage/config and max-errors codes', () => {
    expect(spec.completionMode).toBe('Indexed');
    expect(spec.completions).toBeGreaterThan(1);
    expect(spec.parallelism).toBeGreaterThan(0);
    expect(spec.parallelism).toBeLessThanOrEqual(spec.completions!);
    // The API server's rules: FailIndex needs backoffLimitPerIndex; a pod failure policy needs restartPolicy Never
    // and (with podReplacementPolicy) Failed.
    expect(spec.backoffLimitPerIndex).toBeGreaterThan(0);
    expect(pod.restartPolicy).toBe('Never');
    expect(spec.podReplacementPolicy).toBe('Failed');
    const failIndex = spec.podFailurePolicy!.rules.filter((r) => r.action === 'FailIndex');
    expect(failIndex).toHaveLength(1);
    expect(failIndex[0]!.onExitCodes).toMatchObject({ containerName: 'classify', operator: 'In' });
    expect([...failIndex[0]!.onExitCodes!.values].sort()).toEqual([EXIT_USAGE, EXIT_TOO_MANY_ERRORS].sort());
    // Exit 1 (model failed to load, a crash) and 137 (OOM-killed) are retried: no rule names them.
    for (const rule of spec.podFailurePolicy!.rules)
      for (const code of [1, 137]) expect(rule.onExitCodes?.values ?? []).not.toContain(code);
  });

  it('tells the pods the shard count, runs the CLI the server image carries, and mounts input and output', () => {
    expect(env.MTAILOR_SHARD_COUNT).toBe(String(spec.completions));
    expect(container.command).toEqual([
      '/usr/bin/tini',
      '--',
      'node',
      '/app/node_modules/@mtailor/cli/bin/mtailor.js',
    ]);
    // The image: the one the KServe manifest of examples/cerebrium runs (built from the same Dockerfile).
    const kserve = readFileSync(
      path.join(repoRoot, 'examples', 'cerebrium', 'kserve', 'inferenceservice.yaml'),
      'utf8',
    );
    expect(kserve).toContain(`image: ${container.image}`);
    const mounts = Object.fromEntries((container.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    expect(mounts['/data/in']).toMatchObject({ readOnly: true });
    expect(mounts['/data/out']?.readOnly).not.toBe(true);
    expect(container.args!.slice(0, 4)).toEqual(['classify', '/data/in', '--out', '/data/out']);
    expect(container.resources?.requests).toEqual(container.resources?.limits);
    for (const name of (container.volumeMounts ?? []).map((m) => m.name))
      expect(pod.volumes?.map((v) => v.name)).toContain(name);
  });

  describe('its command line, run for every index as the pods run it', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'mtailor-k8s-job-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it('leaves every input once and _SUCCESS', async () => {
      const input = path.join(tmp, 'in');
      const output = path.join(tmp, 'out');
      mkdirSync(input);
      for (const file of [shared.tench, shared.mudTurtle])
        symlinkSync(file, path.join(input, path.basename(file)));
      const args = container.args!.map((a) => (a === '/data/in' ? input : a === '/data/out' ? output : a));
      const cli = path.join(repoRoot, 'packages', 'cli', 'bin', 'mtailor.js');
      const runIndex = (index: number) =>
        new Promise<number | null>((resolve, reject) => {
          const child = spawn(process.execPath, [cli, ...args], {
            env: {
              ...process.env,
              ...env,
              MTAILOR_MODEL: shared.int8Model,
              JOB_COMPLETION_INDEX: String(index),
            },
            stdio: 'ignore',
          });
          child.on('error', reject);
          child.on('close', resolve);
        });
      // `parallelism` pods at a time, as the Job controller starts them.
      const indices = Array.from({ length: spec.completions! }, (_, i) => i);
      while (indices.length > 0) {
        const wave = indices.splice(0, spec.parallelism!);
        expect(await Promise.all(wave.map(runIndex))).toEqual(wave.map(() => 0));
      }
      const parts = readdirSync(output).filter((f) => f.endsWith('.jsonl'));
      expect(parts).toHaveLength(spec.completions!);
      const files = parts.flatMap((p) =>
        readFileSync(path.join(output, p), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => path.basename(JSON.parse(l).file)),
      );
      expect(files.sort()).toEqual(['n01440764_tench.JPEG', 'n01667114_mud_turtle.JPEG']);
      expect(JSON.parse(readFileSync(path.join(output, '_SUCCESS'), 'utf8')).shards).toBe(spec.completions);
    }, 120_000);
  });
});

describe('volumes.yaml and object-storage.yaml', () => {
  it('are valid core/v1 claims and volumes, and provide the claims the Job mounts', () => {
    const claims = new Set<string>();
    for (const file of ['volumes.yaml', 'object-storage.yaml'])
      for (const doc of documents(file)) {
        const model =
          doc.kind === 'PersistentVolume'
            ? new PersistentVolume(doc as ConstructorParameters<typeof PersistentVolume>[0])
            : new PersistentVolumeClaim(doc as ConstructorParameters<typeof PersistentVolumeClaim>[0]);
        expect(() => model.validate(), `${file}: ${doc.kind}`).not.toThrow();
        if (doc.kind === 'PersistentVolumeClaim') claims.add(String((doc.metadata as { name: string }).name));
      }
    for (const volume of pod.volumes ?? []) expect(claims).toContain(volume.persistentVolumeClaim?.claimName);
    const s3 = new PersistentVolume(
      documents('object-storage.yaml').find((d) => d.kind === 'PersistentVolume') as ConstructorParameters<
        typeof PersistentVolume
      >[0],
    );
    expect(s3.spec?.csi?.driver).toBe('s3.csi.aws.com');
    expect(s3.spec?.accessModes).toEqual(['ReadOnlyMany']);
  });
});
