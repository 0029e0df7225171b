#!/usr/bin/env python3
"""Build the stand-in audio set in audio/standin/ (maintainer tool, not part of the user set-up).

The course's recordings cannot be shipped, so this script builds a comparable set from real
recordings that are fetched from package registries:

  speech  festvox-ru (Debian)           one Russian male speaker, 16 kHz read sentences
          pocketsphinx 5.1.1 (PyPI sdist) LibriVox "Sense and Sensibility", English male, 16 kHz
  noise   bucklespring-data (Debian)    IBM Model M key press/release samples, 44.1 kHz
          etw-data (Debian)             stadium crowd, 22.05 kHz 8-bit

Every noisy file is dirty = clean + noise in exact int16 arithmetic. The noise is impulsive
(keystrokes scattered in bursts of fast typing, much like crunchy chips being eaten next to the
microphone) over a quieter crowd background whose level drifts slowly, and the whole noise comes
in episodes of a few seconds at random levels from loud to near-quiet, so that its level swings
across the recording as the course's does. Everything is seeded, so a rebuild with the same
sources and numpy/scipy versions gives the same files (see manifest.json). SNRs are the
project's equation (1), dsp_helpers.snr_db, so the builder runs from the checkout.

    python tools/build_standin.py [--cache DIR] [--out audio/standin]
"""
import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from math import gcd
from pathlib import Path

import numpy as np
import scipy
import soundfile as sf
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dsp_helpers import snr_db  # noqa: E402  (equation (1), the one SNR of the project)

SR = 16000
# package: (exact version, folder of the recordings used inside the unpacked package)
DEBIAN_PACKAGES = {
    "festvox-ru": ("0.5+dfsg-6", "usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav"),
    "bucklespring-data": ("1.4.0-2", "usr/share/buckle/wav"),
    "etw-data": ("3.6+svn162-6", "usr/share/games/etw/crowd"),
}
PYPI_SDISTS = {"pocketsphinx": ("5.1.1", "test/data/librivox")}

TRAIN_SAMPLES = 1_258_899      # length of the course's training pair (2,459 STFT frames at hop 512)
PEAK_LIMIT = 0.9               # common scale keeps clean, noise and dirty below this peak
BACKGROUND_BELOW_KEYS_DB = 15.0 # energy of the crowd background relative to the keystrokes
# Episodes of the whole noise: each lasts EPISODE_S seconds (uniform) at a level drawn from
# these classes (dB relative to loud, with probabilities), with a jitter of +-EPISODE_JITTER_DB,
# joined by raised-cosine ramps of EPISODE_RAMP_S seconds.
EPISODE_S = (1.5, 6.0)
EPISODE_CLASSES_DB = {"loud": 0.0, "medium": -8.0, "soft": -16.0, "near-quiet": -28.0}
EPISODE_CLASS_P = (0.3, 0.25, 0.2, 0.25)
EPISODE_JITTER_DB = 2.0
EPISODE_RAMP_S = 0.25

# Each pair: output names, seed, target SNR, the speech (package, file patterns in order) and,
# for the training pair, the exact length (the sentences are concatenated and the last is cut).
# The training seed was picked among 5331-5420 (the episode process unchanged) as one whose
# per-tenth SNR spans about 1.5-19 dB with the last tenth among the noisiest, as the course's.
PAIRS = [
    {"clean": "train_clean_male.wav", "dirty": "train_dirty_male.wav", "seed": 5414,
     "snr_db": 6.5, "speech": ("festvox-ru", ["ru_*.wav"]), "samples": TRAIN_SAMPLES},
    {"clean": "test_s_01.wav", "dirty": "test_x_01.wav", "seed": 5332,
     "snr_db": 7.0, "speech": ("festvox-ru", ["ru_0695.wav"])},
    {"clean": "test_s_02.wav", "dirty": "test_x_02.wav", "seed": 5333, "snr_db": 7.0,
     "speech": ("pocketsphinx", ["sense_and_sensibility_01_austen_64kb-0870.wav",
                                 "sense_and_sensibility_01_austen_64kb-0890.wav"])},
]


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fetch_debian_package(name, version, folder, cache):
    """Download NAME=VERSION with apt-get (unless cached), check its version, unpack it once;
    return the folder of recordings and a provenance record."""
    deb = cache / f"{name}_{version}_all.deb"
    if not deb.exists():
        subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=cache, check=True)
    found = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True,
                           capture_output=True, text=True).stdout.strip()
    if found != version:
        sys.exit(f"{deb.name}: expected version {version}, found {found}")
    root = cache / name
    if not root.exists():
        subprocess.run(["dpkg-deb", "-x", str(deb), str(cache / f"{name}.partial")], check=True)
        (cache / f"{name}.partial").rename(root)
    return root / folder, {"registry": "Debian (bookworm)", "version": found, "archive": deb.name,
                           "sha256": sha256_of(deb), "path": folder}


def fetch_pypi_sdist(name, version, folder, cache):
    """Download the source archive with pip (unless cached), check its version, unpack it once;
    return the folder of recordings and a provenance record."""
    archive = cache / f"{name}-{version}.tar.gz"
    if not archive.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", name,
                        f"{name}=={version}", "-d", str(cache)], check=True)
    root = cache / f"{name}-{version}"
    if not root.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(cache, filter="data")
    info = (root / "PKG-INFO").read_text().splitlines()
    found = next(line.split(":", 1)[1].strip() for line in info if line.startswith("Version:"))
    if found != version:
        sys.exit(f"{archive.name}: expected version {version}, found {found}")
    return root / folder, {"registry": "PyPI (source archive)", "version": found,
                           "archive": archive.name, "sha256": sha256_of(archive), "path": folder}


def read_at_16k(path, remove_dc=False):
    """Read a mono wav as float64 in [-1, 1), resampled to 16 kHz if needed."""
    x, sr = sf.read(path, dtype="float64")
    if remove_dc:                      # for the noise samples; the 8-bit crowd sits off zero
        x = x - x.mean()
    if sr != SR:
        g = gcd(SR, sr)
        x = resample_poly(x, SR // g, sr // g)
    return x


def energy(x):
    """Sum of squares in float64 (for setting levels; every SNR is dsp_helpers.snr_db)."""
    return float(np.sum(np.square(x, dtype=np.float64)))


def concatenate_speech(paths, n_samples=None):
    """Concatenate whole recordings in order; with n_samples, stop there and cut the last one."""
    parts, sources, at = [], [], 0
    for path in paths:
        x = read_at_16k(path)
        if n_samples is not None:
            x = x[:n_samples - at]
        parts.append(x)
        sources.append({"file": path.name, "at_sample": at, "samples": len(x)})
        at += len(x)
        if at == n_samples:
            break
    if n_samples is not None and at != n_samples:
        sys.exit(f"not enough speech for {n_samples} samples")
    return np.concatenate(parts), sources


def load_keys(key_dir):
    """Pair each key's press sample (NN-0.wav) with its release sample (NN-1.wav)."""
    keys = []
    for press in sorted(key_dir.glob("*-0.wav")):
        release = press.with_name(press.name.replace("-0.wav", "-1.wav"))
        if release.exists():
            keys.append((press.name[:-6], read_at_16k(press, remove_dc=True),
                         read_at_16k(release, remove_dc=True)))
    return keys


def place_keystrokes(n, keys, rng):
    """Scatter keystrokes over n samples: bursts of fast typing with random gains, then pauses.
    Each keystroke is one key's press sample and, 40-140 ms later, its release sample."""
    track = np.zeros(n + SR)                   # tail room for the last release
    bursts, t = [], rng.uniform(0.0, 0.5)
    while t < n / SR:
        start, typed = t, []
        count, mean_interval = int(rng.integers(4, 30)), rng.uniform(0.09, 0.22)
        burst_db = rng.uniform(-6.0, 3.0)
        for _ in range(count):
            name, press, release = keys[rng.integers(len(keys))]
            typed.append(name)
            gain = 10 ** ((burst_db + rng.uniform(-3.0, 3.0)) / 20)
            for sample, at in ((press, t), (release, t + rng.uniform(0.04, 0.14))):
                i = int(at * SR)
                track[i:i + len(sample)] += gain * sample[:len(track) - i]
            t += mean_interval * rng.lognormal(0.0, 0.3)
            if t >= n / SR:
                break
        bursts.append({"start_s": round(start, 3), "end_s": round(t, 3), "keys": " ".join(typed)})
        t += rng.uniform(0.15, 1.2)
    return track[:n], bursts


def crowd_background(n, crowds, rng):
    """Chain random crowd excerpts (equal-power crossfades), each at unit RMS, then let the
    level drift slowly (+-5 dB, new target every 2 s)."""
    fade = int(0.05 * SR)
    ramp = np.sin(np.linspace(0.0, np.pi / 2, fade))
    track = np.zeros(n + 4 * SR)
    segments, at = [], 0
    while at < n:
        name, x = crowds[rng.integers(len(crowds))]
        length = min(int(rng.uniform(1.5, 4.0) * SR), len(x))
        start = int(rng.integers(0, len(x) - length + 1))
        piece = x[start:start + length] / np.sqrt(np.mean(x[start:start + length] ** 2))
        piece[:fade] *= ramp
        piece[-fade:] *= ramp[::-1]
        track[at:at + length] += piece
        segments.append({"file": name, "from_s": round(start / SR, 4),
                         "duration_s": round(length / SR, 4), "at_s": round(at / SR, 4)})
        at += length - fade
    knots = np.arange(0, n + 2 * SR, 2 * SR)
    level_db = np.interp(np.arange(n), knots, rng.uniform(-5.0, 5.0, len(knots)))
    return track[:n] * 10 ** (level_db / 20), segments


def episode_envelope(n, rng):
    """Gain over n samples: consecutive episodes of random length (EPISODE_S), each at a level
    drawn from EPISODE_CLASSES_DB plus a small jitter, joined by raised-cosine ramps (in dB) of
    EPISODE_RAMP_S centred on each boundary. Returns the gain and the episodes."""
    names = list(EPISODE_CLASSES_DB)
    episodes, t = [], 0.0
    while t < n / SR:
        length = rng.uniform(*EPISODE_S)
        name = names[rng.choice(len(names), p=EPISODE_CLASS_P)]
        level = EPISODE_CLASSES_DB[name] + rng.uniform(-EPISODE_JITTER_DB, EPISODE_JITTER_DB)
        episodes.append({"start_s": round(t, 3), "end_s": round(min(t + length, n / SR), 3),
                         "class": name, "level_db": round(level, 2)})
        t += length
    level_db = np.empty(n)
    bounds = [int(round(e["start_s"] * SR)) for e in episodes[1:]]
    for e, start, end in zip(episodes, [0] + bounds, bounds + [n]):
        level_db[start:end] = e["level_db"]
    half = int(EPISODE_RAMP_S * SR) // 2
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, 2 * half))
    for b, before, after in zip(bounds, episodes, episodes[1:]):
        lo, hi = max(b - half, 0), min(b + half, n)
        level_db[lo:hi] = (before["level_db"] + (after["level_db"] - before["level_db"])
                           * ramp[lo - (b - half):hi - (b - half)])
    return 10 ** (level_db / 20), episodes


def make_noise(n, keys, crowds, rng):
    """Keystrokes plus crowd background BACKGROUND_BELOW_KEYS_DB below them (by energy), the sum
    shaped by the episode envelope."""
    typing, bursts = place_keystrokes(n, keys, rng)
    crowd, segments = crowd_background(n, crowds, rng)
    crowd *= np.sqrt(energy(typing) / energy(crowd) * 10 ** (-BACKGROUND_BELOW_KEYS_DB / 10))
    gain, episodes = episode_envelope(n, rng)
    return (typing + crowd) * gain, {"keys": "key NN = NN-0.wav (press) then NN-1.wav (release)",
                                     "episodes": episodes, "keystroke_bursts": bursts,
                                     "crowd_segments": segments}


def mix_exactly(clean, noise, target_db):
    """Set the noise to the target SNR, scale both by one factor for headroom, quantise each
    to int16 and add them, so that dirty - clean is the noise exactly."""
    noise = noise * np.sqrt(energy(clean) / (energy(noise) * 10 ** (target_db / 10)))
    peak = max(np.abs(clean).max(), np.abs(noise).max(), np.abs(clean + noise).max())
    scale = min(1.0, PEAK_LIMIT / peak)
    clean_i = np.round(clean * scale * 32768).astype(np.int32)
    noise_i = np.round(noise * scale * 32768).astype(np.int32)
    dirty_i = clean_i + noise_i
    for x in (clean_i, noise_i, dirty_i):
        assert -32768 <= x.min() and x.max() <= 32767, "int16 overflow"
    return clean_i.astype(np.int16), dirty_i.astype(np.int16), scale


def snr_per_tenth(s, x):
    """Equation (1) on each tenth of the pair in order, tenth k = samples
    [k n // 10, (k+1) n // 10)."""
    edges = [len(s) * k // 10 for k in range(11)]
    return [round(snr_db(s[a:b], x[a:b]), 3) for a, b in zip(edges, edges[1:])]


def longest_quiet_s(x, threshold_db, frame=320):
    """Longest run (seconds) of 20 ms frames whose RMS is below threshold_db (dBFS)."""
    frames = x[:len(x) // frame * frame].reshape(-1, frame)
    quiet = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20) < threshold_db
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    return longest * frame / SR


def listening_proxies(s, x):
    """Peak and RMS (dBFS) of clean, dirty and noise, and the longest quiet stretches; fails if
    the speech holds a digital silence over 2 s or the noise drops out (below -70 dBFS) for over
    1 s. Stretches of noise below -50 dBFS are reported only: the near-quiet episodes are meant,
    but the crowd floor stays under them, so the noise is never (nearly) digitally silent."""
    signals = {"clean": s, "dirty": x, "noise": x - s}
    checks = {"peak_dbfs": {k: round(20 * np.log10(np.abs(v).max()), 1)
                            for k, v in signals.items()},
              "rms_dbfs": {k: round(10 * np.log10(np.mean(v ** 2)), 1) for k, v in signals.items()},
              "longest_quiet_s": {"clean_below_-60dBFS": longest_quiet_s(s, -60),
                                  "noise_below_-50dBFS": longest_quiet_s(x - s, -50),
                                  "noise_below_-70dBFS": longest_quiet_s(x - s, -70)}}
    assert checks["longest_quiet_s"]["clean_below_-60dBFS"] < 2.0, "long silence in the speech"
    assert checks["longest_quiet_s"]["noise_below_-70dBFS"] < 1.0, "the noise drops out"
    return checks


def build_pair(pair, speech_paths, keys, crowds, out):
    """Write one clean/dirty pair and return its manifest entry (measured from the files)."""
    rng = np.random.default_rng(pair["seed"])
    clean, speech_sources = concatenate_speech(speech_paths, pair.get("samples"))
    noise, noise_sources = make_noise(len(clean), keys, crowds, rng)
    clean_i, dirty_i, scale = mix_exactly(clean, noise, pair["snr_db"])
    for name, x in ((pair["clean"], clean_i), (pair["dirty"], dirty_i)):
        sf.write(out / name, x, SR, subtype="PCM_16")
    s = sf.read(out / pair["clean"], dtype="int16")[0].astype(np.float64) / 32768
    x = sf.read(out / pair["dirty"], dtype="int16")[0].astype(np.float64) / 32768
    assert np.array_equal(s, clean_i / 32768) and np.array_equal(x, dirty_i / 32768)
    return {
        "clean": pair["clean"], "dirty": pair["dirty"], "samples": len(s), "sample_rate": SR,
        "duration_s": len(s) / SR,
        "sha256": {name: sha256_of(out / name) for name in (pair["clean"], pair["dirty"])},
        "snr_db": snr_db(s, x), "target_snr_db": pair["snr_db"],
        "snr_db_per_tenth": snr_per_tenth(s, x), "noise_energy": energy(x - s),
        "seed": pair["seed"], "common_scale": scale, "checks": listening_proxies(s, x),
        "speech": {"package": pair["speech"][0], "recordings": speech_sources},
        "noise": {"packages": ["bucklespring-data", "etw-data"], **noise_sources},
    }


def print_summary(pairs):
    """Table of every file, the noise rows being dirty - clean ('quiet' is the longest stretch
    below -60 dBFS for speech, -50 dBFS for noise), then each pair's SNR tenth by tenth."""
    print(f"{'file':<28}{'seconds':>8}{'SNR dB':>8}{'peak dBFS':>10}{'RMS dBFS':>9}{'quiet s':>8}")
    for p in pairs:
        c = p["checks"]
        quiet = c["longest_quiet_s"]
        rows = ((p["clean"], "clean", "", quiet["clean_below_-60dBFS"]),
                (p["dirty"], "dirty", f"{p['snr_db']:.2f}", ""),
                ("  (noise = dirty - clean)", "noise", "", quiet["noise_below_-50dBFS"]))
        for name, role, snr_text, quiet_text in rows:
            print(f"{name:<28}{p['duration_s']:8.3f}{snr_text:>8}{c['peak_dbfs'][role]:10.1f}"
                  f"{c['rms_dbfs'][role]:9.1f}{quiet_text:>8}")
    print("\nSNR (dB, eq. 1) of each tenth, in order")
    for p in pairs:
        print(f"{p['dirty']:<28}" + "".join(f"{v:6.1f}" for v in p["snr_db_per_tenth"]))


def copy_licenses(cache, out):
    """Copy the license texts the set's README refers to."""
    folder = out / "LICENSES"
    folder.mkdir(exist_ok=True)
    for package in DEBIAN_PACKAGES:
        shutil.copy(cache / package / f"usr/share/doc/{package}/copyright",
                    folder / f"{package}-copyright.txt")
    for package, (version, _) in PYPI_SDISTS.items():
        shutil.copy(cache / f"{package}-{version}" / "LICENSE", folder / f"{package}-LICENSE.txt")
    shutil.copy("/usr/share/common-licenses/GPL-2", folder / "GPL-2.txt")


def main():
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/standin-sources"))
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parents[1] / "audio/standin")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)

    folders, sources = {}, {}
    for name, (version, folder) in DEBIAN_PACKAGES.items():
        folders[name], sources[name] = fetch_debian_package(name, version, folder, args.cache)
    for name, (version, folder) in PYPI_SDISTS.items():
        folders[name], sources[name] = fetch_pypi_sdist(name, version, folder, args.cache)

    keys = load_keys(folders["bucklespring-data"])
    crowds = [(p.name, read_at_16k(p, remove_dc=True))
              for p in sorted(folders["etw-data"].glob("*.wav"))]

    pairs = []
    for pair in PAIRS:
        package, patterns = pair["speech"]
        paths = [p for pattern in patterns for p in sorted(folders[package].glob(pattern))]
        pairs.append(build_pair(pair, paths, keys, crowds, args.out))
    copy_licenses(args.cache, args.out)

    manifest = {"generator": "tools/build_standin.py",
                "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                             "scipy": scipy.__version__, "soundfile": sf.__version__},
                "definitions": {"snr_db": "10*log10(sum(s^2)/sum((s-x)^2)) over the whole file, "
                                          "s = clean, x = dirty, both int16/32768",
                                "snr_db_per_tenth": "snr_db on each tenth in order, tenth k = "
                                                    "samples [k*n//10, (k+1)*n//10)",
                                "noise_energy": "sum((x-s)^2) in float64, same scale"},
                "sources": sources, "pairs": pairs}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    print_summary(pairs)


if __name__ == "__main__":
    main()
