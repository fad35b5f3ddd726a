"""The 64×64 architectures (CelebA, Tiny ImageNet) build the released scripts' layers.

Parameter counts by hand from the layer lists in models/ali.py's docstring
(k·k·c_in·c_out weights, 2·c per batch norm, biases where the scripts have them):

CelebA encoder  2/1/64: 3·64·4=768 +128 | 7/2/128: 64·128·49=401408 +256
                5/2/256: 128·256·25=819200 +512 | 7/2/256: 256·256·49=3211264 +512
                4/1/512: 256·512·16=2097152 +1024 | out 1/1/512: 512·512+512   → 6,794,880
CelebA decoder  tconv 4/1/512: 256·512·16=2097152 +1024 | 7/2/256: 6422528 +512
                5/2/256: 1638400 +512 | 7/2/128: 1605632 +256 | 2/1/64: 32768 +128
                out 1/1/3: 192 + 3·64·64 biases                               → 11,811,392
CelebA D(x)     768+64 | 401408+256 | 819200+512 | 3211264+512 | 2097152+1024 → 6,532,160
CelebA D(z)     256·1024 + 1024·1024 (no biases)                              →  1,310,720
CelebA D(x,z)   1536·2048+2048 | 2048·2048+2048 | 2048+1                      →  7,346,177
Tiny encoder    4/2/64: 3072+128 | 4/1/64: 65536+128 | 4/2/128: 131072+256
                4/1/128: 262144+256 | 4/2/256: 524288+512 | 4/1/256: 1048576+512
                1/1/2048: 524288+4096 | 1/1/2048: 4194304+4096 | out 2048·512+512 → 7,812,352
Tiny decoder    1/1/2048: 524288+4096 | 1/1/256: 524288+512 | tconv 4/1/256: 1048576+512
                4/2/128: 524288+256 | 4/1/128: 262144+256 | 4/2/64: 131072+128
                4/1/64: 65536+128 | 4/2/64: 65536+128 | out 192 + 12288        →  3,164,224
Tiny D(x)       3072+64 | 65664 | 131328 | 262400 | 524800 | 1049088          →  2,036,416
Tiny D(z)       256·2048+2048 | 2048·2048+2048 (with biases)                  →  4,722,688
Tiny D(x,z)     2304·4096+4096 | 4096·4096+4096 | 4096+1                      → 26,226,689
"""

import pytest
import torch

from alibench.models import build_ali
from conftest import network_param_counts

EXPECTED = {
    "celeba": {"encoder": 6_794_880, "decoder": 11_811_392, "x_net": 6_532_160,
               "z_net": 1_310_720, "joint": 7_346_177},
    "tiny-imagenet": {"encoder": 7_812_352, "decoder": 3_164_224, "x_net": 2_036_416,
                      "z_net": 4_722_688, "joint": 26_226_689},
}
SIZES = {"celeba": ([63, 29, 13, 4, 1], [4, 13, 29, 63, 64]),
         "tiny-imagenet": ([31, 28, 13, 10, 4, 1, 1, 1], [1, 1, 4, 10, 13, 28, 31, 64])}


@pytest.mark.parametrize("arch", ["celeba", "tiny-imagenet"])
def test_parameter_counts_match_hand_computed_tables(arch):
    assert network_param_counts(build_ali(arch)) == EXPECTED[arch]


@pytest.mark.parametrize("arch", ["celeba", "tiny-imagenet"])
def test_spatial_sizes_and_output_shapes(arch):
    nets = build_ali(arch, width=0.125)
    enc_sizes, dec_sizes = SIZES[arch]
    h = torch.rand(2, 3, 64, 64)
    got = []
    for block in nets.encoder.blocks:
        h = block(h)
        got.append(h.shape[-1])
    assert got == enc_sizes
    z, got = torch.randn(2, 256, 1, 1), []
    for block in nets.decoder.blocks:
        z = block(z)
        got.append(z.shape[-1])
    assert got == dec_sizes
    x = nets.decoder(torch.randn(2, 256, 1, 1))
    assert x.shape == (2, 3, 64, 64)
    assert nets.discriminator(x, nets.encoder(x)[0]).shape == (2, 1)


def test_celeba_slopes_and_dropout_follow_the_script():
    nets = build_ali("celeba")
    assert nets.encoder.blocks[0].act.negative_slope == 0.02
    drops = [m.p for m in nets.discriminator.modules() if isinstance(m, torch.nn.Dropout)]
    assert drops and set(drops) == {0.2}
