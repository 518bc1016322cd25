// DINOv2 ViTs against outputs of the official facebookresearch/dinov2 code (test/fixtures/official-dinov2,
// see its README): forward features, position-embedding resize with and without antialias, registers,
// block outputs and gradients; and the same weights under Hugging Face names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as F from '../../index';
import { TOL } from '../tolerances';
import { expectClose } from '../helpers/compare';

const DIR = join(__dirname, '..', 'fixtures', 'official-dinov2');

async function load(file: string) {
  const bytes = new Uint8Array(readFileSync(file));
  return file.endsWith('.pth') ? F.loadTorchCheckpoint(bytes) : F.loadSafetensors(bytes);
}

function build(cfg: Record<string, unknown>): F.VisionTransformer {
  return F.visionTransformer({
    imgSize: cfg.img_size as number, patchSize: cfg.patch_size as number, embedDim: cfg.embed_dim as number,
    depth: cfg.depth as number, numHeads: cfg.num_heads as number, mlpRatio: cfg.mlp_ratio as number,
    initValues: cfg.init_values as number, numRegisterTokens: cfg.num_register_tokens as number,
    interpolateOffset: cfg.interpolate_offset as number, interpolateAntialias: cfg.interpolate_antialias as boolean,
  });
}

async function forwardCase(name: string, weightsFile?: string) {
  const caseJson = JSON.parse(readFileSync(join(DIR, name, 'case.json'), 'utf8'));
  const model = build(caseJson.config).eval();
  model.loadStateDict(await load(weightsFile ?? join(DIR, name, 'weights.safetensors')));
  const inp = await load(join(DIR, name, 'input.safetensors'));
  const exp = await load(join(DIR, name, 'expected.safetensors'));
  const x = inp.input.detach().requiresGrad_();
  const blockOut: F.Tensor[] = [];
  model.getSubmodule('blocks.0').registerForwardHook((_m, _i, out) => {
    blockOut[0] = out;
  });
  model.getSubmodule('blocks.-1').registerForwardHook((_m, _i, out) => {
    blockOut[1] = out;
  });
  const [, , H, W] = x.shape;
  const pos = model.interpolatePosEncoding(1 + (H / 14) * (W / 14), H, W);
  expectClose(await pos.data(), await exp.pos_embed_interpolated.data(), TOL.model, 'pos_embed_interpolated');
  const f = model.forwardFeatures(x);
  expectClose(await f.xNormClstoken.data(), await exp.x_norm_clstoken.data(), TOL.model, 'x_norm_clstoken');
  expectClose(await f.xNormPatchtokens.data(), await exp.x_norm_patchtokens.data(), TOL.model, 'x_norm_patchtokens');
  expectClose(await f.xPrenorm.data(), await exp.x_prenorm.data(), TOL.model, 'x_prenorm');
  if (exp.x_norm_regtokens) {
    expectClose(await f.xNormRegtokens.data(), await exp.x_norm_regtokens.data(), TOL.model, 'x_norm_regtokens');
  }
  expectClose(await blockOut[0].data(), await exp.block_0_output.data(), TOL.model, 'block 0 output');
  expectClose(await blockOut[1].data(), await exp.block_1_output.data(), TOL.model, 'block 1 output');
  const loss = F.mul(f.xNormPatchtokens, inp.probe).sum();
  expectClose([await loss.item()], await exp.probe_loss.data(), TOL.model, 'probe_loss');
  const [gIn, gBlock] = F.grad(loss, [x, blockOut[0]]);
  expectClose(await gIn!.data(), await exp.grad_input.data(), TOL.modelGrad, 'grad_input');
  expectClose(await gBlock!.data(), await exp.grad_block_0_output.data(), TOL.modelGrad, 'grad_block_0_output');
}

describe('DINOv2 against the official code', () => {
  test('forward case: antialiased pos-embed resize, non-square input, gradients', () => forwardCase('dinov2_tiny_forward'));
  test('registers case: two register tokens, plain bicubic resize', () => forwardCase('dinov2_tiny_registers'));
  test('forward case with the weights read from a PyTorch .pth checkpoint', () =>
    forwardCase('dinov2_tiny_forward', join(__dirname, '..', 'fixtures', 'models', 'dinov2_tiny_forward.pth')));
  test('Hugging Face Dinov2 names load through the mapping', () =>
    forwardCase('dinov2_tiny_registers', join(__dirname, '..', 'fixtures', 'models', 'hf_dinov2_registers.safetensors')));

  test('LinearProbe (patch-token mean → Linear) matches the official Finer-CAM model logits', async () => {
    const caseJson = JSON.parse(readFileSync(join(DIR, 'dinov2_tiny_finer', 'case.json'), 'utf8'));
    const probe = new F.LinearProbe(build(caseJson.config), caseJson.config.num_classes);
    probe.eval();
    probe.loadStateDict(await load(join(DIR, 'dinov2_tiny_finer', 'weights.safetensors')));
    const inp = await load(join(DIR, 'dinov2_tiny_finer', 'input.safetensors'));
    const exp = await load(join(DIR, 'dinov2_tiny_finer', 'expected.safetensors'));
    const logits = probe.forward(inp.input);
    expectClose(await logits.data(), await exp.logits.data(), TOL.model, 'logits');
  });
});

describe('ViT construction', () => {
  test('presets have DINOv2 parameter counts', () => {
    // facebookresearch/dinov2 ViT-S/14: 22,056,576 parameters (incl. mask_token), 1370 position embeddings
    const s = F.dinov2Vits14();
    expect(s.parameters().reduce((n, p) => n + p.size, 0)).toBe(22056576);
    expect(s.posEmbed.shape).toEqual([1, 1370, 384]);
    const names = Object.keys(s.stateDict());
    for (const k of ['cls_token', 'pos_embed', 'mask_token', 'patch_embed.proj.weight', 'blocks.11.norm1.weight', 'blocks.0.attn.qkv.weight', 'blocks.0.ls1.gamma', 'blocks.0.mlp.fc2.bias', 'norm.bias']) {
      expect(names).toContain(k);
    }
    expect(Object.keys(F.dinov2Vits14Reg().stateDict())).toContain('register_tokens');
  });

  test('H×W not a multiple of the patch size is a clear error', () => {
    const m = F.visionTransformer({ imgSize: 28, patchSize: 14, embedDim: 8, depth: 1, numHeads: 2 });
    expect(() => m.forward(F.zeros([1, 3, 28, 30]))).toThrow(/multiples of the patch size 14/);
    expect(() => m.forward(F.zeros([1, 1, 28, 28]))).toThrow(/expected input \[B, 3, H, W\]/);
  });
});
