"""PyTorch's values for mldb's recipe pieces, printed as JSON for test/unit/lr-schedule.test.ts and
test/unit/adamw.test.ts and test/unit/onecycle-momentum.test.ts (which hold them as constants): run
once with /usr/bin/python3 (PyTorch 1.13) as `/usr/bin/python3 src/bench/recipe-reference.py`, and
paste. Schedules are stepped once per batch, as mldb steps them. OneCycleLR's rates are taken
without momentum cycling (the rate does not depend on it); its momentum separately, and a small
model trained a few steps under it with each optimizer whose momentum or β₁ it cycles."""
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



def momenta(make, key):
    p = torch.nn.Parameter(torch.zeros(1))
    opt, sched = make(p)
    out = []
    for _ in range(STEPS):
        group = opt.param_groups[0]
        out.append(group['betas'][0] if key == 'betas' else group['momentum'])
        opt.step()
        sched.step()
    return out


def sgd_onecycle(pct_start):
    def make(p):
        opt = torch.optim.SGD([p], lr=1.0, momentum=0.9)
        return opt, S.OneCycleLR(opt, max_lr=1.0, total_steps=STEPS, pct_start=pct_start)
    return make


def adam_onecycle(p):
    opt = torch.optim.Adam([p], lr=1.0)
    return opt, S.OneCycleLR(opt, max_lr=1.0, total_steps=STEPS)


momentum = {
    'onecycle': momenta(sgd_onecycle(0.3), 'momentum'),
    'onecycle+warmup': momenta(sgd_onecycle(WARMUP / STEPS), 'momentum'),
    'onecycle (adam beta1)': momenta(adam_onecycle, 'betas'),
}

# A dense softmax layer (4 inputs, 3 classes) trained full-batch for CYCLE_STEPS steps under
# OneCycleLR with its momentum cycling: each optimizer as mldb makes it (momentum 0.9; Adam's
# betas 0.9, 0.999; tfjs' eps 1e-7), the cross-entropy averaged over the batch as tfjs does.
CYCLE_STEPS = 6
CYCLE_LR = 0.1
KERNEL = [[0.2, -0.1, 0.05], [-0.3, 0.25, 0.1], [0.15, 0.05, -0.2], [-0.05, 0.3, 0.1]]  # tfjs layout: in × out
BIAS = [0.01, -0.02, 0.0]
XS = [[0.5, -0.2, 0.1, 0.9], [-0.7, 0.3, 0.8, -0.1], [0.2, 0.6, -0.5, 0.4],
      [0.9, -0.8, 0.3, 0.2], [-0.4, -0.1, 0.7, 0.6], [0.1, 0.4, 0.2, -0.9]]
LABELS = [0, 1, 2, 1, 0, 2]
OPTIMIZERS = {
    'momentum': lambda ps: torch.optim.SGD(ps, lr=CYCLE_LR, momentum=0.9),
    'adam': lambda ps: torch.optim.Adam(ps, lr=CYCLE_LR, eps=1e-7),
    'adamw': lambda ps: torch.optim.AdamW(ps, lr=CYCLE_LR, eps=1e-7, weight_decay=0.01),
    'adamax': lambda ps: torch.optim.Adamax(ps, lr=CYCLE_LR, eps=1e-7),
}


def cycled(name):
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(KERNEL).t())
        layer.bias.copy_(torch.tensor(BIAS))
    opt = OPTIMIZERS[name](layer.parameters())
    sched = S.OneCycleLR(opt, max_lr=CYCLE_LR, total_steps=CYCLE_STEPS)
    x, y = torch.tensor(XS), torch.tensor(LABELS)
    for _ in range(CYCLE_STEPS):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(layer(x), y).backward()
        opt.step()
        sched.step()
    return {'kernel': layer.weight.detach().t().flatten().tolist(), 'bias': layer.bias.detach().tolist()}


print(json.dumps({'steps': STEPS, 'warmup': WARMUP, 'schedules': schedules, 'momentum': momentum,
                  'adamw': {'initial': [0.5, -1.0, 2.0, 0.0], 'lr': 0.01, 'weightDecay': 0.1, 'grads': grads,
                            'weights': adamw},
                  'cycled': {'steps': CYCLE_STEPS, 'lr': CYCLE_LR, 'kernel': KERNEL, 'bias': BIAS, 'xs': XS,
                             'labels': LABELS, 'weights': {name: cycled(name) for name in OPTIMIZERS}}}))
