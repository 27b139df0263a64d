#!/usr/bin/env python3
"""The PyTorch peer of bench/gpu.ts: the same parts, shapes and dtypes, on the same GPU, in the same run.

Run per part by bench/gpu-run.ts runPeer():
    python3 bench/peers/torch_gpu.py --part gemm --spec spec.json --out out.json --budget-s 60
The spec is what the TypeScript side measured (shapes, dtypes, configs). Results are written to --out after
every row, so a peer killed at its budget still leaves the rows it finished. Uses CUDA when available (times
with CUDA events), else the CPU (the --quick smoke test on a machine without a GPU; torch 1.13 there, so
scaled_dot_product_attention falls back to the math composition when missing).
"""
import argparse
import json
import math
import os
import sys
import time
import traceback

import torch
import torch.nn.functional as F

CUDA = torch.cuda.is_available()
DEV = torch.device("cuda" if CUDA else "cpu")
DTYPES = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}


class Out:
    """The JSON result, rewritten after each change (atomic rename)."""

    def __init__(self, path, part):
        self.path = path
        self.data = {"part": part, "torch": torch.__version__, "device": device_name(), "cuda": torch.version.cuda, "rows": []}
        self.flush()

    def flush(self):
        tmp = f"{self.path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1, default=str)
        os.replace(tmp, self.path)

    def row(self, r):
        self.data["rows"].append(r)
        self.flush()


def device_name():
    return torch.cuda.get_device_name(0) if CUDA else "cpu"


def sync():
    if CUDA:
        torch.cuda.synchronize()


def time_batched(fn, seconds=0.3, target_ms=25.0, max_reps=200):
    """Time per call of fn: reps grown until a batch takes ~target_ms, median of up to 5 batches (as gpu-run.ts)."""
    fn()
    sync()
    reps, batches, budget = 1, [], time.perf_counter() + seconds
    while True:
        if CUDA:
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(reps):
                fn()
            b.record()
            torch.cuda.synchronize()
            ms = a.elapsed_time(b)
        else:
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            ms = (time.perf_counter() - t0) * 1000
        if ms < target_ms and reps < max_reps and time.perf_counter() < budget:
            reps = min(max_reps, reps * max(2, math.ceil(target_ms / max(ms, 0.01))))
            continue
        batches.append(ms)
        if len(batches) >= 5 or (len(batches) >= 2 and time.perf_counter() > budget):
            break
    s = sorted(batches)
    return s[len(s) // 2] / reps, reps


def error_text(e):
    return f"{type(e).__name__}: {e}"[:4000]


def each(out, items, deadline, label, fn):
    for it in items:
        if time.perf_counter() > deadline:
            out.row({"label": label(it), "skipped": "peer budget reached"})
            continue
        try:
            out.row(fn(it))
        except Exception as e:  # recorded, the next row goes on
            out.row({"label": label(it), "error": error_text(e), "trace": traceback.format_exc()[-1500:]})
        finally:
            if CUDA:
                torch.cuda.empty_cache()


# ---- parts ----

def part_device(spec, out, deadline):
    d = out.data
    d["cudaAvailable"] = CUDA
    d["pythonVersion"] = sys.version.split()[0]
    if CUDA:
        p = torch.cuda.get_device_properties(0)
        d.update({"name": p.name, "capability": list(torch.cuda.get_device_capability(0)), "totalMemoryBytes": p.total_memory,
                  "multiprocessors": p.multi_processor_count, "cudnn": torch.backends.cudnn.version()})
    try:
        import transformers
        d["transformers"] = transformers.__version__
    except Exception as e:
        d["transformers"] = f"not available: {error_text(e)}"
    out.flush()


def part_copy(spec, out, deadline):
    for n in spec["sizes"]:
        host = torch.empty(n // 4, dtype=torch.float32)
        r = {"label": f"{n} bytes", "bytes": n}
        if not CUDA:
            r["skipped"] = "no CUDA: host<->device copies do not apply"
            out.row(r)
            continue
        for pinned in (False, True):
            h = host.pin_memory() if pinned else host
            key = "pinned" if pinned else "pageable"
            up, down = [], []
            for _ in range(3):
                sync(); t0 = time.perf_counter(); g = h.to(DEV, non_blocking=pinned); sync(); up.append(time.perf_counter() - t0)
                sync(); t0 = time.perf_counter(); h2 = g.to("cpu"); sync(); down.append(time.perf_counter() - t0)
                del g, h2
            r[f"{key}HostToGpuGBps"] = n / sorted(up)[1] / 1e9
            r[f"{key}GpuToHostGBps"] = n / sorted(down)[1] / 1e9
        a = torch.empty(n // 4, dtype=torch.float32, device=DEV)
        b = torch.empty_like(a)
        ms, reps = time_batched(lambda: b.copy_(a), seconds=0.5)
        r["gpuToGpuGBps"] = n / ms / 1e6
        r["gpuToGpuReadWriteGBps"] = 2 * n / ms / 1e6
        out.row(r)
        del a, b


def part_gemm(spec, out, deadline):
    items = [(s, dt) for s in spec["shapes"] for dt in spec["dtypes"]]

    def run(item):
        s, dt = item
        t = DTYPES[dt]
        M, N, K = s["M"], s["N"], s["K"]
        a = torch.randn(M, K, device=DEV, dtype=t)
        if s["layout"] == "nt":
            w = torch.randn(N, K, device=DEV, dtype=t)
            fn = lambda: F.linear(a, w)  # noqa: E731  x·Wᵀ as the model runs it
        else:
            w = torch.randn(K, N, device=DEV, dtype=t)
            fn = lambda: torch.matmul(a, w)  # noqa: E731
        ms, reps = time_batched(fn, seconds=spec.get("seconds", 0.3))
        return {"label": s["label"], "dtype": dt, "M": M, "N": N, "K": K, "layout": s["layout"], "ms": ms, "tflops": 2 * M * N * K / ms / 1e9, "reps": reps}

    each(out, items, deadline, lambda it: f"{it[0]['label']} {it[1]}", run)


def sdpa(q, k, v, causal):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    s = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)  # torch < 2.0: the math composition
    if causal:
        S, T = s.shape[-2], s.shape[-1]
        s = s.masked_fill(torch.ones(S, T, dtype=torch.bool, device=s.device).triu(T - S + 1), float("-inf"))
    return torch.softmax(s.float(), -1).to(q.dtype) @ v


def part_attention(spec, out, deadline):
    out.data["impl"] = "F.scaled_dot_product_attention" if hasattr(F, "scaled_dot_product_attention") else "math composition (torch < 2.0)"
    items = [(c, dt) for c in spec["cases"] for dt in spec["dtypes"]]

    def run(item):
        c, dt = item
        t = DTYPES[dt]
        B, H, S, D = c["B"], c["H"], c["S"], c["D"]
        q, k, v, g = (torch.randn(B, H, S, D, device=DEV, dtype=t) for _ in range(4))
        flops = 4 * B * H * S * S * D / (2 if c["causal"] else 1)
        with torch.no_grad():
            ms, reps = time_batched(lambda: sdpa(q, k, v, c["causal"]), seconds=spec.get("seconds", 0.3), max_reps=50)
        for x in (q, k, v):
            x.requires_grad_(True)

        def step():
            o = sdpa(q, k, v, c["causal"])
            o.backward(g)
            for x in (q, k, v):
                x.grad = None

        ms2, reps2 = time_batched(step, seconds=spec.get("seconds", 0.3), max_reps=30)
        return {"label": c["label"], "dtype": dt, "B": B, "H": H, "S": S, "D": D, "fwdMs": ms, "fwdTflops": flops / ms / 1e9,
                "fwdBwdMs": ms2, "fwdBwdTflops": 3.5 * flops / ms2 / 1e9}

    each(out, items, deadline, lambda it: f"{it[0]['label']} {it[1]}", run)


# ---- decode ----

def hf_llama(cfg, layers, dtype):
    from transformers import LlamaConfig, LlamaForCausalLM
    hc = LlamaConfig(vocab_size=cfg["vocabSize"], hidden_size=cfg["hiddenSize"], intermediate_size=cfg["intermediateSize"],
                     num_hidden_layers=layers, num_attention_heads=cfg["numAttentionHeads"], num_key_value_heads=cfg["numKeyValueHeads"],
                     rms_norm_eps=cfg["rmsNormEps"], rope_theta=cfg["ropeTheta"], max_position_embeddings=cfg["maxPositionEmbeddings"],
                     tie_word_embeddings=cfg["tieWordEmbeddings"], pad_token_id=0, bos_token_id=1, eos_token_id=2)
    prev = torch.get_default_dtype()
    try:
        torch.set_default_dtype(dtype)  # weights created in bf16 directly (no 27 GB f32 copy)
    except (TypeError, ValueError):
        pass  # an older torch: created in f32 on the GPU, then converted
    try:
        with torch.device(DEV):  # on the GPU directly (torch >= 2.0; the GPU machine has 2.11)
            model = LlamaForCausalLM(hc)
    finally:
        torch.set_default_dtype(prev)
    return model.to(device=DEV, dtype=dtype).eval()


def hf_generate_ms(model, ids, new_tokens):
    with torch.no_grad():
        sync(); t0 = time.perf_counter()
        res = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                             do_sample=False, use_cache=True, pad_token_id=0)
        sync()
    return (time.perf_counter() - t0) * 1000, res.shape[1] - ids.shape[1]


class MiniLlama(torch.nn.Module):
    """A HF-equivalent LLaMA decode with a KV cache in plain torch, for machines without transformers (the CPU smoke test)."""

    def __init__(self, c, layers, dtype):
        super().__init__()
        H, I, V = c["hiddenSize"], c["intermediateSize"], c["vocabSize"]
        self.nh, self.nkv, self.hd, self.eps, self.theta = c["numAttentionHeads"], c["numKeyValueHeads"], H // c["numAttentionHeads"], c["rmsNormEps"], c["ropeTheta"]
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)  # noqa: E731
        self.emb = torch.nn.Embedding(V, H)
        self.layers = torch.nn.ModuleList()
        for _ in range(layers):
            m = torch.nn.Module()
            m.q, m.k, m.v, m.o = lin(H, H), lin(H, self.nkv * self.hd), lin(H, self.nkv * self.hd), lin(H, H)
            m.g, m.u, m.d = lin(H, I), lin(H, I), lin(I, H)
            m.n1, m.n2 = torch.nn.Parameter(torch.ones(H)), torch.nn.Parameter(torch.ones(H))
            self.layers.append(m)
        self.norm = torch.nn.Parameter(torch.ones(H))
        self.head = lin(H, V)
        self.to(device=DEV, dtype=dtype)

    def rms(self, x, w):
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * w

    def rope(self, x, pos):
        inv = 1.0 / (self.theta ** (torch.arange(0, self.hd, 2, device=DEV).float() / self.hd))
        f = pos.float()[:, None] * inv[None]
        cos, sin = torch.cat([f, f], -1).cos().to(x.dtype), torch.cat([f, f], -1).sin().to(x.dtype)
        x1, x2 = x[..., : self.hd // 2], x[..., self.hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    def forward(self, ids, cache):
        B, S = ids.shape
        past = cache[0][0].shape[2] if cache else 0
        pos = torch.arange(past, past + S, device=DEV)
        h = self.emb(ids)
        new = []
        for i, m in enumerate(self.layers):
            x = self.rms(h, m.n1)
            q = self.rope(m.q(x).view(B, S, self.nh, self.hd).transpose(1, 2), pos)
            k = self.rope(m.k(x).view(B, S, self.nkv, self.hd).transpose(1, 2), pos)
            v = m.v(x).view(B, S, self.nkv, self.hd).transpose(1, 2)
            if cache:
                k, v = torch.cat([cache[i][0], k], 2), torch.cat([cache[i][1], v], 2)
            new.append((k, v))
            rep = self.nh // self.nkv
            a = sdpa(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), S > 1)
            h = h + m.o(a.transpose(1, 2).reshape(B, S, -1))
            x = self.rms(h, m.n2)
            h = h + m.d(F.silu(m.g(x)) * m.u(x))
        return self.head(self.rms(h[:, -1:], self.norm)), new


def mini_generate_ms(model, ids, new_tokens):
    with torch.no_grad():
        sync(); t0 = time.perf_counter()
        logits, cache = model(ids, None)
        nxt = logits.argmax(-1)
        for _ in range(new_tokens - 1):
            logits, cache = model(nxt, cache)
            nxt = logits.argmax(-1)
            nxt.item()  # the host reads the id each step, as generate checks for the end of sequence
        sync()
    return (time.perf_counter() - t0) * 1000, new_tokens


def part_decode(spec, out, deadline):
    cfg, dtype = spec["config"], DTYPES[spec["dtype"]]
    try:
        import transformers  # noqa: F401
        impl = "transformers LlamaForCausalLM.generate"
    except Exception as e:
        impl = f"MiniLlama in plain torch (transformers not available: {error_text(e)})"
    out.data["impl"] = impl
    out.data["runs"] = []
    P, N = spec["prompt"], spec["newTokens"]
    for layers in spec["layerCounts"]:
        if time.perf_counter() > deadline:
            out.data["runs"].append({"layers": layers, "skipped": "peer budget reached"})
            continue
        model = hf_llama(cfg, layers, dtype) if impl.startswith("transformers") else MiniLlama(cfg, layers, dtype)
        gen = hf_generate_ms if impl.startswith("transformers") else mini_generate_ms
        ids = torch.tensor([[1 + (i * 7919) % (cfg["vocabSize"] - 1) for i in range(P)]], device=DEV)
        gen(model, ids, 2)  # warm-up
        t1, n1 = gen(model, ids, 1)
        tn, nn_ = gen(model, ids, N)
        ms = (tn - t1) / max(1, nn_ - n1)
        out.data["runs"].append({"layers": layers, "prefillPlusOneMs": t1, "generateMs": tn, "newTokens": nn_, "msPerToken": ms, "tokensPerS": 1000 / ms})
        out.flush()
        del model
        if CUDA:
            torch.cuda.empty_cache()


# ---- SAM ViT-H image encoder (segment_anything/modeling/image_encoder.py, written from torch ops) ----

def rel_pos(table, q, k):
    """get_rel_pos: the table has 2*max(q,k)-1 rows; the encoder's tables match the input size, so no resize."""
    qc = torch.arange(q, device=table.device)[:, None] * max(k / q, 1.0)
    kc = torch.arange(k, device=table.device)[None, :] * max(q / k, 1.0)
    return table[(qc - kc + (k - 1) * max(q / k, 1.0)).long()]


class SamAttention(torch.nn.Module):
    def __init__(self, dim, heads, size):
        super().__init__()
        self.h, self.hd = heads, dim // heads
        self.qkv, self.proj = torch.nn.Linear(dim, 3 * dim), torch.nn.Linear(dim, dim)
        self.rel_h = torch.nn.Parameter(torch.randn(2 * size - 1, self.hd) * 0.02)
        self.rel_w = torch.nn.Parameter(torch.randn(2 * size - 1, self.hd) * 0.02)
        self.use_sdpa = False

    def forward(self, x):
        B, H, W, _ = x.shape
        qkv = self.qkv(x).reshape(B, H * W, 3, self.h, -1).permute(2, 0, 3, 1, 4).reshape(3, B * self.h, H * W, -1)
        q, k, v = qkv.unbind(0)
        Rh, Rw = rel_pos(self.rel_h, H, H), rel_pos(self.rel_w, W, W)
        rq = q.reshape(B * self.h, H, W, -1)
        bias = (torch.einsum("bhwc,hkc->bhwk", rq, Rh)[:, :, :, :, None] + torch.einsum("bhwc,wkc->bhwk", rq, Rw)[:, :, :, None, :]).reshape(B * self.h, H * W, H * W)
        if self.use_sdpa and hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        else:
            attn = (q * self.hd ** -0.5) @ k.transpose(-2, -1) + bias
            o = attn.softmax(dim=-1) @ v
        o = o.view(B, self.h, H, W, -1).permute(0, 2, 3, 1, 4).reshape(B, H, W, -1)
        return self.proj(o)


class SamBlock(torch.nn.Module):
    def __init__(self, dim, heads, mlp, window, grid):
        super().__init__()
        self.window = window
        self.n1, self.n2 = torch.nn.LayerNorm(dim, eps=1e-6), torch.nn.LayerNorm(dim, eps=1e-6)
        self.attn = SamAttention(dim, heads, window if window else grid)
        self.mlp = torch.nn.Sequential(torch.nn.Linear(dim, mlp), torch.nn.GELU(), torch.nn.Linear(mlp, dim))

    def forward(self, x):
        s = x
        x = self.n1(x)
        if self.window:
            H, W = x.shape[1], x.shape[2]
            ws = self.window
            ph, pw = (ws - H % ws) % ws, (ws - W % ws) % ws
            x = F.pad(x, (0, 0, 0, pw, 0, ph))
            Hp, Wp = H + ph, W + pw
            B, C = x.shape[0], x.shape[3]
            x = x.view(B, Hp // ws, ws, Wp // ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, C)
            x = self.attn(x)
            x = x.view(B, Hp // ws, Wp // ws, ws, ws, -1).permute(0, 1, 3, 2, 4, 5).reshape(B, Hp, Wp, -1)[:, :H, :W]
        else:
            x = self.attn(x)
        x = s + x
        return x + self.mlp(self.n2(x))


class LayerNorm2d(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.w, self.b = torch.nn.Parameter(torch.ones(c)), torch.nn.Parameter(torch.zeros(c))

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        return self.w[:, None, None] * ((x - u) / torch.sqrt(s + 1e-6)) + self.b[:, None, None]


class SamEncoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        D, grid = c["embedDim"], c["imageSize"] // c["patchSize"]
        self.patch = torch.nn.Conv2d(c["inChans"], D, c["patchSize"], c["patchSize"])
        self.pos = torch.nn.Parameter(torch.randn(1, grid, grid, D) * 0.02)
        self.blocks = torch.nn.ModuleList(SamBlock(D, c["numHeads"], int(D * c["mlpRatio"]), 0 if i in c["globalAttnIndexes"] else c["windowSize"], grid)
                                          for i in range(c["depth"]))
        self.neck = torch.nn.Sequential(torch.nn.Conv2d(D, c["outChans"], 1, bias=False), LayerNorm2d(c["outChans"]),
                                        torch.nn.Conv2d(c["outChans"], c["outChans"], 3, padding=1, bias=False), LayerNorm2d(c["outChans"]))

    def forward(self, x):
        x = self.patch(x).permute(0, 2, 3, 1) + self.pos
        for b in self.blocks:
            x = b(x)
        return self.neck(x.permute(0, 3, 1, 2))


def part_sam(spec, out, deadline):
    c, dtype = spec["config"], DTYPES[spec["dtype"]]
    enc = SamEncoder(c).to(device=DEV, dtype=dtype).eval()
    px = torch.randn(1, 3, c["imageSize"], c["imageSize"], device=DEV, dtype=dtype)
    out.data["variants"] = []
    for name, use_sdpa in (("official math attention", False), ("sdpa with rel-pos bias", True)):
        if time.perf_counter() > deadline:
            out.data["variants"].append({"name": name, "skipped": "peer budget reached"})
            continue
        if use_sdpa and not hasattr(F, "scaled_dot_product_attention"):
            out.data["variants"].append({"name": name, "skipped": "no F.scaled_dot_product_attention in this torch"})
            continue
        for m in enc.modules():
            if isinstance(m, SamAttention):
                m.use_sdpa = use_sdpa
        try:
            with torch.no_grad():
                ms, reps = time_batched(lambda: enc(px), seconds=spec.get("seconds", 3), target_ms=1, max_reps=1)
            out.data["variants"].append({"name": name, "msPerImage": ms})
        except Exception as e:
            out.data["variants"].append({"name": name, "error": error_text(e)})
        out.flush()


PARTS = {"device": part_device, "copy": part_copy, "gemm": part_gemm, "attention": part_attention, "decode": part_decode, "sam": part_sam}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", required=True, choices=sorted(PARTS))
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=60)
    a = ap.parse_args()
    deadline = time.perf_counter() + a.budget_s - 3  # leave time to write
    with open(a.spec) as f:
        spec = json.load(f)
    torch.manual_seed(0)
    if not CUDA:
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    out = Out(a.out, a.part)
    try:
        PARTS[a.part](spec, out, deadline)
    except Exception as e:
        out.data["error"] = error_text(e)
        out.data["trace"] = traceback.format_exc()[-3000:]
        return 1
    finally:
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
