"""PyTorch's values for mldb's recipe pieces, printed as JSON for test/unit/lr-schedule.test.ts and
test/unit/adamw.test.ts (which hold them as constants): run once with /usr/bin/python3 (PyTorch
1.13) as `python3 src/bench/recipe-reference.py`, and paste. Schedules are stepped once per batch,
as mldb steps them; OneCycleLR without momentum cycling (mldb cycles only the rate)."""
import json
import math

import torch

STEPS = 20  # e.g. 4 epochs of 5 batches
WARMUP = 5  # 1 epoch


def rates(make):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make(opt)
    out = []
    for _ in range(STEPS):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    return out


S = torch.optim.lr_scheduler
schedules = {
    'cosine': rates(lambda o: S.CosineAnnealingLR(o, T_max=STEPS)),
    'cosine+warmup': rates(lambda o: S.SequentialLR(o, [
        S.LinearLR(o, start_factor=1 / WARMUP, end_factor=1.0, total_iters=WARMUP - 1),
        S.CosineAnnealingLR(o, T_max=STEPS - WARMUP)], milestones=[WARMUP])),
    'constant+warmup': rates(lambda o: S.LinearLR(o, start_factor=1 / WARMUP, end_factor=1.0, total_iters=WARMUP - 1)),
    'onecycle': rates(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=STEPS, cycle_momentum=False)),
    'onecycle+warmup': rates(lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=STEPS, pct_start=WARMUP / STEPS,
                                                     cycle_momentum=False)),
}

# AdamW: three steps from fixed weights and gradients; tfjs' ε (1e-7) for a like-for-like comparison.
w = torch.nn.Parameter(torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=torch.float32))
opt = torch.optim.AdamW([w], lr=0.01, weight_decay=0.1, eps=1e-7)
grads = [[0.1, -0.2, 0.3, 0.0], [0.05, 0.4, -0.1, 1.0], [-0.3, 0.1, 0.2, -0.5]]
adamw = []
for g in grads:
    w.grad = torch.tensor(g, dtype=torch.float32)
    opt.step()
    adamw.append([float(v) for v in w.detach()])

print(json.dumps({'steps': STEPS, 'warmup': WARMUP, 'schedules': schedules,
                  'adamw': {'initial': [0.5, -1.0, 2.0, 0.0], 'lr': 0.01, 'weightDecay': 0.1, 'grads': grads,
                            'weights': adamw}}))
