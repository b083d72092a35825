/**
 * Real PyTorch checkpoints made by the tests themselves (random weights, seeded), with the Python that has torch.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { python } from '../../../../test/support/shared-data.js';

/** The package's python/ folder (the export script and our seed Classifier definition). */
export const packagePythonDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'python',
);

/** A user's own nn.Module, as a file to import with `module.path:ClassName`. */
export const TINY_NET_SOURCE = `import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
        )
        self.head = nn.Linear(8, num_classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))
`;

/** Paths of the checkpoints written by {@link makeCheckpoints}. */
export interface Checkpoints {
  /** Seed Classifier (ResNet-18) state_dict with random weights and non-trivial BatchNorm statistics. */
  seed: string;
  /** The same weights as `{'epoch': 3, 'state_dict': {'module.<key>': …}}` (DataParallel-style wrapper). */
  seedWrapped: string;
  /** Folder holding tiny_net.py. */
  userModuleDir: string;
  /** TinyNet state_dict. */
  tiny: string;
  /** A whole pickled TinyNet module (torch.save(model)): needs allowPickle. */
  tinyPickled: string;
  /** A pickle that creates `evilMarker` when unpickled: must never run. */
  evil: string;
  /** The file the evil pickle would create. */
  evilMarker: string;
}

/**
 * Write the checkpoints into `dir`; also proves in Python that our Classifier and torchvision's resnet18 share
 * state_dict keys (each loads the other's weights with strict=True).
 */
export function makeCheckpoints(dir: string): Checkpoints {
  const out: Checkpoints = {
    seed: path.join(dir, 'seed_resnet18.pth'),
    seedWrapped: path.join(dir, 'seed_resnet18_wrapped.pth'),
    userModuleDir: dir,
    tiny: path.join(dir, 'tiny_net.pth'),
    tinyPickled: path.join(dir, 'tiny_net_module.pth'),
    evil: path.join(dir, 'evil.pth'),
    evilMarker: path.join(dir, 'pwned.txt'),
  };
  writeFileSync(path.join(dir, 'tiny_net.py'), TINY_NET_SOURCE);
  const script = `
import sys, torch, torchvision
sys.path.insert(0, ${JSON.stringify(packagePythonDir)})
sys.path.insert(0, ${JSON.stringify(dir)})
from mtailor_export.seed_classifier import Classifier
from tiny_net import TinyNet
torch.manual_seed(0)
model = Classifier()
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial statistics, so BatchNorm folding is exercised
        m.running_mean.uniform_(-0.1, 0.1); m.running_var.uniform_(0.5, 1.5)
        m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.1, 0.1)
state = model.state_dict()
torch.save(state, ${JSON.stringify(out.seed)})
torch.save({'epoch': 3, 'state_dict': {'module.' + k: v for k, v in state.items()}}, ${JSON.stringify(out.seedWrapped)})
tv = torchvision.models.resnet18(weights=None)
tv.load_state_dict(state, strict=True)
Classifier().load_state_dict(tv.state_dict(), strict=True)
tiny = TinyNet()
torch.save(tiny.state_dict(), ${JSON.stringify(out.tiny)})
torch.save(tiny, ${JSON.stringify(out.tinyPickled)})
class Evil:
    def __reduce__(self):
        return (open, (${JSON.stringify(out.evilMarker)}, 'w'))
torch.save({'state_dict': Evil()}, ${JSON.stringify(out.evil)})
print('ok')
`;
  const stdout = execFileSync(python, ['-c', script], { encoding: 'utf8', timeout: 240_000 });
  if (!stdout.includes('ok')) throw new Error(`checkpoint script failed: ${stdout}`);
  return out;
}
