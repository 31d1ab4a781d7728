"""simple_cnn in PyTorch, trained on random images: the native-framework reference of
`npm run bench -- train` (Debian's python3-torch; never a dependency of mldb).

The network is mldb's simple_cnn layer for layer (oarriaga's simple_CNN): four blocks of
conv -> batch-norm -> conv -> batch-norm -> ReLU -> 2x2 average pool ("same": ceil_mode) ->
dropout 0.5, then conv 256 -> batch-norm -> conv(classes) -> global average pool; batch-norm
with Keras' epsilon 1e-3 and momentum 0.99 (PyTorch's 0.01), Adam with tfjs' epsilon 1e-7, and
cross-entropy on the logits. Prints one JSON line: the median step time and samples per second.

usage: pytorch-simple-cnn.py THREADS SIZE BATCH MIN_STEPS MIN_SECONDS
"""
import json
import sys
import time

import torch
import torch.nn as nn


def simple_cnn(channels, classes):
    layers, cin = [], channels
    for filters, kernel in [(16, 7), (32, 5), (64, 3), (128, 3)]:
        pad = kernel // 2
        layers += [
            nn.Conv2d(cin, filters, kernel, padding=pad),
            nn.BatchNorm2d(filters, eps=1e-3, momentum=0.01),
            nn.Conv2d(filters, filters, kernel, padding=pad),
            nn.BatchNorm2d(filters, eps=1e-3, momentum=0.01),
            nn.ReLU(),
            nn.AvgPool2d(2, ceil_mode=True, count_include_pad=False),
            nn.Dropout(0.5),
        ]
        cin = filters
    layers += [
        nn.Conv2d(128, 256, 3, padding=1),
        nn.BatchNorm2d(256, eps=1e-3, momentum=0.01),
        nn.Conv2d(256, classes, 3, padding=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    ]
    return nn.Sequential(*layers)


def main():
    threads, size, batch, min_steps, min_seconds = (int(a) for a in sys.argv[1:6])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = simple_cnn(1, 10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, size, size)
    y = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
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
    print(json.dumps({"torch": torch.__version__, "threads": threads, "stepMs": median * 1000,
                      "samplesPerSecond": batch / median}))


main()
