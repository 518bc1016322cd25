#!/usr/bin/python3
"""Writes test/fixtures/optim/optim.json: parameters after each step of torch.optim.SGD / Adam / AdamW.

Run from anywhere:  /usr/bin/python3 test/reference/optim.py
Reference: Debian python3-torch 1.13.1 (torch.optim's default single-tensor implementations).

Each case optimises the same small problem for STEPS steps, in float64 and in float32:
    params   W [3, 4], b [4], c [2] (in the loss on even steps only), u [2] (never in the loss)
    loss_s = mean((tanh(x @ W + b) - y)^2) + 0.1 * sum(W^4)  [+ sum((c - 0.3)^2) when s is even]
with opt.zero_grad(set_to_none=True) before each step, so c has no gradient on odd steps (skipped; for Adam its
own step count lags) and u never has one (never touched, no state). The test rebuilds the loss with our ops,
takes gradients with our autograd, and compares the parameters after every step.

Every gradient component used in a step is checked to be well away from zero (|g| > 1e-4): Adam's update
lr*m/(sqrt(v)+eps) is about +-lr for any |g| >> eps, so a gradient within rounding of zero could flip the sign
of a step under float32 rounding, and the float32 comparison would then be ill-conditioned.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'optim')
STEPS = 6

# (name, torch.optim class, our options in camelCase; TORCH_KW maps them to torch keyword arguments)
CASES = [
    ('sgd', 'SGD', {'lr': 0.1}),
    ('sgd_momentum', 'SGD', {'lr': 0.05, 'momentum': 0.9}),
    ('sgd_dampening_decay', 'SGD', {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.1, 'weightDecay': 0.01}),
    ('sgd_nesterov', 'SGD', {'lr': 0.05, 'momentum': 0.8, 'nesterov': True, 'weightDecay': 0.02}),
    ('adam_defaults', 'Adam', {}),
    ('adam', 'Adam', {'lr': 0.01}),
    ('adam_amsgrad_decay', 'Adam', {'lr': 0.02, 'betas': [0.8, 0.99], 'eps': 1e-6, 'weightDecay': 0.1, 'amsgrad': True}),
    ('adamw_defaults', 'AdamW', {}),
    ('adamw', 'AdamW', {'lr': 0.01}),
    ('adamw_amsgrad', 'AdamW', {'lr': 0.02, 'betas': [0.85, 0.995], 'weightDecay': 0.1, 'amsgrad': True}),
]

TORCH_KW = {'lr': 'lr', 'momentum': 'momentum', 'dampening': 'dampening', 'weightDecay': 'weight_decay',
            'nesterov': 'nesterov', 'betas': 'betas', 'eps': 'eps', 'amsgrad': 'amsgrad'}


def problem():
    g = torch.Generator().manual_seed(1234)
    return {
        'W': torch.randn(3, 4, generator=g, dtype=torch.float64) * 0.5,
        'b': torch.randn(4, generator=g, dtype=torch.float64) * 0.1,
        'c': torch.randn(2, generator=g, dtype=torch.float64),
        'u': torch.randn(2, generator=g, dtype=torch.float64),
        'x': torch.randn(6, 3, generator=g, dtype=torch.float64),
        'y': torch.rand(6, 4, generator=g, dtype=torch.float64) * 2 - 1,
    }


def loss_fn(p, x, y, step):
    loss = ((torch.tanh(x @ p['W'] + p['b']) - y) ** 2).mean() + 0.1 * (p['W'] ** 4).sum()
    if step % 2 == 0:
        loss = loss + ((p['c'] - 0.3) ** 2).sum()
    return loss


def run(cls, opts, dtype, data):
    names = ['W', 'b', 'c', 'u']
    p = {k: data[k].to(dtype).clone().requires_grad_(True) for k in names}
    x, y = data['x'].to(dtype), data['y'].to(dtype)
    kw = {TORCH_KW[k]: (tuple(v) if k == 'betas' else v) for k, v in opts.items()}
    opt = getattr(torch.optim, cls)([p[k] for k in names], **kw)
    after, losses = [], []
    for s in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(p, x, y, s)
        loss.backward()
        for k in names:
            if p[k].grad is not None:
                assert p[k].grad.abs().min().item() > 1e-4, (cls, opts, s, k, p[k].grad)
        assert p['u'].grad is None and (p['c'].grad is None) == (s % 2 == 1)
        losses.append(loss.item())
        opt.step()
        after.append({k: p[k].detach().double().flatten().tolist() for k in names})
    return {'losses': losses, 'after': after}


def main():
    torch.set_num_threads(1)
    data = problem()
    out = {
        'torch': torch.__version__,
        'steps': STEPS,
        'init': {k: {'shape': list(v.shape), 'values': v.flatten().tolist()} for k, v in data.items()},
        'cases': [],
    }
    for name, cls, opts in CASES:
        for dtype in (torch.float64, torch.float32):
            r = run(cls, opts, dtype, data)
            out['cases'].append({'name': name, 'optimizer': cls, 'options': opts,
                                 'dtype': str(dtype).replace('torch.', ''), **r})
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, 'optim.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    print(f"wrote {len(out['cases'])} cases to {os.path.relpath(os.path.join(OUT, 'optim.json'))}")


if __name__ == '__main__':
    main()
