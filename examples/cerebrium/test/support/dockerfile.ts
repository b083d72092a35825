/**
 * Just enough of a Dockerfile parser for the deployment tests: stages, their instructions and their `ENV`.
 */

/** One `FROM … AS name` stage. */
export interface Stage {
  name: string;
  /** Variables its `ENV` instructions set. */
  env: Record<string, string>;
  instructions: Array<{ op: string; args: string }>;
}

/** Parses a Dockerfile into stages (line continuations joined, comments dropped). */
export function parseDockerfile(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      stages.push({ name: /\bAS\s+(\S+)/i.exec(args)?.[1] ?? '', env: {}, instructions: [] });
    }
    const stage = stages.at(-1);
    if (!stage) continue;
    stage.instructions.push({ op: upper, args });
    if (upper === 'ENV') {
      for (const m of args.matchAll(/(\w+)=("[^"]*"|\S+)/g))
        stage.env[m[1] as string] = (m[2] as string).replace(/^"|"$/g, '');
    }
  }
  return stages;
}
