import type { Command } from '../main.js';

/** `mtailor classify` (not implemented yet). */
export const command: Command = {
  summary: 'classify (not implemented yet)',
  usage: 'mtailor classify',
  async run() {
    process.stderr.write('mtailor classify: not implemented yet\n');
    return 1;
  },
};
