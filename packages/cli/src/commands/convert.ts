import type { Command } from '../main.js';

/** `mtailor convert` (not implemented yet). */
export const command: Command = {
  summary: 'convert (not implemented yet)',
  usage: 'mtailor convert',
  async run() {
    process.stderr.write('mtailor convert: not implemented yet\n');
    return 1;
  },
};
