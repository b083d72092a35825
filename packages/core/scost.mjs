import { readdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';

const dir = '/work/shared/images';
const data = readdirSync(dir).map((f) => readFileSync(dir + '/' + f));
sharp.cache(false);
console.log('concurrency', sharp.concurrency(), 'simd', sharp.simd());
const variants = {
  plain: (b) => sharp(b).raw().toBuffer(),
  seq: (b) => sharp(b, { sequentialRead: true }).raw().toBuffer(),
  seqIgnoreIcc: (b) => sharp(b, { sequentialRead: true, ignoreIcc: true }).raw().toBuffer(),
  seqIccFailNone: (b) => sharp(b, { sequentialRead: true, ignoreIcc: true, failOn: 'none' }).raw().toBuffer(),
  randomIcc: (b) => sharp(b, { sequentialRead: false, ignoreIcc: true }).raw().toBuffer(),
};
for (const c of [1, 2]) {
  sharp.concurrency(c);
  for (const [name, fn] of Object.entries(variants)) {
    for (const b of data.slice(0, 10)) await fn(b);
    const r = [];
    for (let rep = 0; rep < 3; rep++) {
      const c0 = process.cpuUsage();
      for (const b of data) await fn(b);
      const u = process.cpuUsage(c0);
      r.push(((u.user + u.system) / 1000 / data.length).toFixed(2));
    }
    console.log('conc', c, name, r.join(' '));
  }
}
