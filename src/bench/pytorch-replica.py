"""A PyTorch replica of an mldb network, trained on random images: the native-framework reference
of `npm run bench -- train` (Debian's python3-torch; never a dependency of mldb).

The network comes as the JSON layer list native-reference.ts writes from the tfjs model (class,
config, input and output shapes, inbound layers), so every registry architecture has its replica
layer for layer: convolutions (TensorFlow's "same" padding, asymmetric where it is), separable
convolutions (depthwise then 1x1), batch-norm with Keras' epsilon 1e-3 and momentum 0.99
(PyTorch's 0.01), pooling ("same" as ceil_mode, averages over the values inside), dropout,
dense layers, residual adds, L2 penalties as loss terms. Adam with tfjs' epsilon 1e-7 and
cross-entropy on the logits (the final softmax is the loss's). Initialisation is PyTorch's: it
does not change the speed. Prints one JSON line: the median step time, samples per second, and
the process's peak resident memory once it has trained (Linux's VmHWM: getrusage's ru_maxrss
would report the bench's own resident size, which a spawned child inherits until it execs).

usage: pytorch-replica.py SPEC.json THREADS BATCH MIN_STEPS MIN_SECONDS
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def peak_resident_mb():
    """This process's own peak resident memory in MiB."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def same_pads(size, kernel, stride):
    """TensorFlow's "same": (before, after) for one axis."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


class Conv(nn.Module):
    """Conv2D or SeparableConv2D, with TensorFlow's padding and the layer's activation."""

    def __init__(self, cls, c, in_shape):
        super().__init__()
        h, w, cin = in_shape
        k, s = pair(c["kernelSize"]), pair(c.get("strides", 1))
        self.pad = None
        padding = 0
        if c.get("padding") == "same":
            (t, b), (l, r) = same_pads(h, k[0], s[0]), same_pads(w, k[1], s[1])
            if t == b and l == r:
                padding = (t, l)
            else:
                self.pad = (l, r, t, b)
        bias = c.get("useBias", True)
        if cls == "SeparableConv2D":
            m = c.get("depthMultiplier", 1)
            self.conv = nn.Sequential(
                nn.Conv2d(cin, cin * m, k, s, padding, groups=cin, bias=False),
                nn.Conv2d(cin * m, c["filters"], 1, bias=bias),
            )
        else:
            self.conv = nn.Conv2d(cin, c["filters"], k, s, padding, bias=bias)
        self.relu = c.get("activation") == "relu"

    def forward(self, x):
        if self.pad:
            x = F.pad(x, self.pad)
        x = self.conv(x)
        return F.relu(x) if self.relu else x


class Dense(nn.Module):
    def __init__(self, c, in_shape):
        super().__init__()
        self.linear = nn.Linear(in_shape[-1], c["units"], bias=c.get("useBias", True))
        self.relu = c.get("activation") == "relu"

    def forward(self, x):
        x = self.linear(x)
        return F.relu(x) if self.relu else x


class Lambda(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


def torch_pool_out(size, k, s, p, ceil):
    """PyTorch's pooled size (a last window must start inside the input or its left padding)."""
    out = (math.ceil if ceil else math.floor)((size + 2 * p - k) / s) + 1
    return out - 1 if ceil and (out - 1) * s >= size + p else out


def pool(cls, c, in_shape):
    k = pair(c.get("poolSize", 2))
    s = pair(c.get("strides") or k)
    padding, ceil = (0, 0), False
    if c.get("padding") == "same":
        # TensorFlow pads (mostly) after; PyTorch pads both sides: the padding and rounding that
        # give TensorFlow's size, windows over the values inside as tfjs averages them.
        pads = [same_pads(in_shape[a], k[a], s[a])[0] for a in (0, 1)]
        want = [math.ceil(in_shape[a] / s[a]) for a in (0, 1)]
        for ceil in (False, True):
            if all(torch_pool_out(in_shape[a], k[a], s[a], pads[a], ceil) == want[a] for a in (0, 1)):
                break
        padding = tuple(pads)
    if cls == "MaxPooling2D":
        return nn.MaxPool2d(k, s, padding, ceil_mode=ceil)
    return nn.AvgPool2d(k, s, padding, ceil_mode=ceil, count_include_pad=False)


def module(layer):
    cls, c, shape = layer["cls"], layer["config"], layer["inShape"]
    if cls in ("Conv2D", "SeparableConv2D"):
        return Conv(cls, c, shape)
    if cls == "Dense":
        return Dense(c, shape)
    if cls == "BatchNormalization":
        bn = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
        return bn(shape[-1], eps=c.get("epsilon", 1e-3), momentum=1 - c.get("momentum", 0.99))
    if cls in ("Activation", "ReLU"):
        # softmax is the loss's (cross-entropy on the logits)
        return nn.ReLU() if cls == "ReLU" or c.get("activation") == "relu" else nn.Identity()
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        return pool(cls, c, shape)
    if cls == "GlobalAveragePooling2D":
        return Lambda(lambda x: x.mean((2, 3)))
    if cls == "Flatten":
        return nn.Flatten()
    if cls == "Dropout":
        return nn.Dropout(c["rate"])
    if cls == "Add":
        return None
    raise ValueError(f"no replica for layer class {cls}")


class Replica(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.layers = [l for l in spec["layers"] if l["cls"] != "InputLayer"]
        self.input = spec["input"]
        self.mods = nn.ModuleDict()
        self.penalties = []
        for l in self.layers:
            m = module(l)
            if m is not None:
                self.mods[l["name"].replace(".", "_")] = m
                if l.get("l2"):
                    self.penalties += [(p, l["l2"]) for n, p in m.named_parameters() if "weight" in n and p.dim() > 1]

    def forward(self, x):
        values = {self.input: x}
        for l in self.layers:
            ins = [values[i] for i in l["inputs"]]
            if l["cls"] == "Add":
                values[l["name"]] = sum(ins)
            else:
                values[l["name"]] = self.mods[l["name"].replace(".", "_")](ins[0])
        return values[self.layers[-1]["name"]]


def main():
    path = sys.argv[1]
    threads, batch, min_steps = (int(a) for a in sys.argv[2:5])
    min_seconds = float(sys.argv[5])
    spec = json.load(open(path))
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = Replica(spec)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    h, w, c = spec["shape"]
    x = torch.rand(batch, c, h, w)
    y = torch.randint(0, spec["classes"], (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        for p, l2 in model.penalties:
            loss = loss + l2 * p.square().sum()
        loss.backward()
        optimizer.step()

    for _ in range(3):  # warm-up
        step()
    times, start = [], time.perf_counter()
    while len(times) < min_steps or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    peak = peak_resident_mb()
    print(json.dumps({"torch": torch.__version__, "threads": threads, "stepMs": median * 1000,
                      "samplesPerSecond": batch / median, "peakRssMb": peak}))


main()
