import type { Command } from '../main.js';

/** `mtailor validate` (not implemented yet). */
export const command: Command = {
  summary: 'validate (not implemented yet)',
  usage: 'mtailor validate',
  async run() {
    process.stderr.write('mtailor validate: not implemented yet\n');
    return 1;
  },
};
