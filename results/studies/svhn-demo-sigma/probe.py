"""Per-step extremes of an ALI run (issue 13's σ study): wraps ALI._code and
ALI._pair_logits, runs `python -m alibench.run ...` unchanged and writes one JSON line
per training step (max |z|, max and min log σ, D's logits on encoder pairs q and
decoder pairs p). Draws no random numbers, so the run is the unprobed one.
Usage: python probe.py OUT.jsonl svhn-svm --preset demo --seeds 1 ..."""
import json, sys, torch
from alibench.methods import ali as A
out = open(sys.argv.pop(1), "w")
orig_code, orig_pair = A.ALI._code, A.ALI._pair_logits
stash = {}
def code(self, encoder, x, y):
    z, ls = orig_code(self, encoder, x, y)
    stash["z"] = z.detach().float().abs().amax().item(); stash["ls_max"] = ls.detach().float().amax().item()
    stash["ls_min"] = ls.detach().float().amin().item()
    return z, ls
step = [0]
def pair(self, x, y, nets):
    q, p, ls = orig_pair(self, x, y, nets)
    if torch.is_grad_enabled():
        step[0] += 1
        rec = dict(step=step[0], q_max=q.detach().float().amax().item(), q_min=q.detach().float().amin().item(),
                   p_max=p.detach().float().amax().item(), p_min=p.detach().float().amin().item(), **stash)
        out.write(json.dumps(rec) + "\n"); out.flush()
    return q, p, ls
A.ALI._code, A.ALI._pair_logits = code, pair
from alibench.cli import main
sys.exit(main())
