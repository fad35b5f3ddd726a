"""What an SVHN demo run's encoder codes carry (docs/demo.md, point 7).

    python results/studies/svhn-demo-codes/codes.py RUN_DIR     # a finished svhn-svm run with checkpoint.pt

On the run's validation images (train[-n_val:] of the shipped SVHN sample):
the reconstruction error over the mean image's, Gx(z) with z ~ q(z | x) and
Gx(μ(x)), with the encoder and decoder in eval and in training mode (batch
statistics), and how far the codes μ(x) spread against prior draws.
codes_seeds0-4.txt: the five band runs of the H2 demo (lr 2e-4, the demo until
the bands were refreshed for lr 8e-4; CPU AMD EPYC, 1 thread; their checkpoints
are not committed: rerun the band commands of docs/regression-bands.md with
--set lr=2e-4 to get them). Noise: torch.manual_seed(0).
"""
import sys, torch, numpy as np, alibench
from alibench.data import load_dataset
from alibench.reporting.figures import to_float
run = alibench.load_run(sys.argv[1], device="cpu")
data = load_dataset("sample:svhn")
n_val = run.config.n_val
x = to_float(data.x_train[-n_val:])
mean = x.mean(0, keepdim=True)
base = (x - mean).pow(2).mean().item()
def recon(enc_train, dec_train, use_mu=False):
    enc, dec = run.nets.encoder, run.nets.decoder
    enc.train(enc_train); dec.train(dec_train)
    with torch.no_grad():
        mu, ls = enc(x)
        z = mu if use_mu else mu + ls.exp() * torch.randn_like(mu)
        xh = dec(z)
    enc.eval(); dec.eval()
    return (xh - x).pow(2).mean().item() / base
torch.manual_seed(0)
for et in (False, True):
    for dt in (False, True):
        print(f"enc train={et} dec train={dt}: ratio {recon(et, dt):.3f}  (mu only {recon(et, dt, True):.3f})")
# how spread are the codes?
with torch.no_grad():
    mu, ls = run.nets.encoder(x)
mu = mu.flatten(1)
print("code std per dim (mean):", mu.std(0).mean().item(), " mean |mu|:", mu.abs().mean().item(), "log sigma mean", ls.mean().item())
d = torch.cdist(mu, mu); print("mean pairwise code dist", d.sum().item()/(len(mu)*(len(mu)-1)), "prior expectation", (2*mu.shape[1])**0.5)
