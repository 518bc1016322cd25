// A small end-to-end example until the demo lands: a tiny conv-free classifier trained with autograd,
// then the gradient of a class score w.r.t. a hidden activation (the heart of Grad-CAM).
import * as F from '../dist/index.js';

F.manualSeed(0);
const x = F.randn([8, 4]);
const w = F.randn([4, 3]).mul(0.5).requiresGrad_();
const h = F.matmul(x, w).relu();
const score = h.sum(0).select(0, 1);
const [gH] = F.grad(score, [h]);
console.log('hidden activation', h.shape, 'gradient of class 1 w.r.t. it:', Array.from(await gH.data()).slice(0, 6));
