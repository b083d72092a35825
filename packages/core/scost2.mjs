import { readdirSync, readFileSync } from 'node:fs';
import sharp from 'sharp';

const dir = '/work/shared/images';
const data = readdirSync(dir).map((f) => readFileSync(dir + '/' + f));
sharp.cache(false);
const base = { ignoreIcc: true, sequentialRead: true };
const full = {
  ignoreIcc: true,
  failOn: 'error',
  pages: 1,
  page: 0,
  autoOrient: false,
  limitInputPixels: 1e8,
  limitInputChannels: 6,
  sequentialRead: true,
};
const variants = {
  base: (b) => sharp(b, base).raw().toBuffer(),
  fullopts: (b) => sharp(b, full).raw().toBuffer(),
  failOnError: (b) =>
    sharp(b, { ...base, failOn: 'error' })
      .raw()
      .toBuffer(),
  pages: (b) =>
    sharp(b, { ...base, pages: 1, page: 0 })
      .raw()
      .toBuffer(),
  orientFalse: (b) =>
    sharp(b, { ...base, autoOrient: false })
      .raw()
      .toBuffer(),
  removeAlphaUchar: (b) =>
    sharp(b, base).removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }),
  uchar: (b) => sharp(b, base).raw({ depth: 'uchar' }).toBuffer(),
  removeAlpha: (b) => sharp(b, base).removeAlpha().raw().toBuffer(),
};
for (const [name, fn] of Object.entries(variants)) {
  for (const b of data.slice(0, 10)) await fn(b);
  const r = [];
  for (let rep = 0; rep < 3; rep++) {
    const c0 = process.cpuUsage();
    for (const b of data) await fn(b);
    const u = process.cpuUsage(c0);
    r.push(((u.user + u.system) / 1000 / data.length).toFixed(2));
  }
  console.log(name.padEnd(18), r.join(' '));
}
