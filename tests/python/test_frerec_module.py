"""The `frerec` Python module (python/frerec_module.cpp) against the `frerec` program on the
same images: SSIM (metrics image-quality), spectra and spectral gaps (spectra), SHR and the
full FreRec calibration (calibrate, a tiny auto-encoder), records (run), and C++ errors as
Python exceptions with the C++ message.

Run by ctest (tests/python/CMakeLists.txt) as
  FRERec=<build>/frerec PYTHONPATH=<build>/python /usr/bin/python3 -m unittest test_frerec_module.<Case>
Images are read with PIL and scaled as the program's reader does (OpenCV's convertTo:
float32(v) * float32(1/255)), so both sides see the same float32 pixels.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import numpy as np
from PIL import Image

import frerec

FREREC = os.environ["FREREC"]
WORK = Path(os.environ.get("FREREC_PYTHON_TEST_WORK", tempfile.gettempdir())) / f"frerec-python-{os.getpid()}"
TINY_DAE = ["shr.k=8", "dae.epochs=2", "dae.batch_size=8", "dae.patch_size=16", "dae.network.dim=8",
            "dae.network.num_blocks=[1,1,1,1]", "dae.network.num_refinement_blocks=1", "dae_val_images=8"]
TINY_SETTINGS = {"shr": {"k": 8}, "dae": {"epochs": 2, "batch_size": 8, "patch_size": 16,
                                          "network": {"dim": 8, "num_blocks": [1, 1, 1, 1], "num_refinement_blocks": 1}},
                 "dae_val_images": 8}


def run(*args, cwd=None, check=True):
    result = subprocess.run([FREREC, "--threads", "2", *args], cwd=cwd or WORK, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"frerec {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def names(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*.png"))


def load(folder):
    """(N, 1, H, W) float32 in [0, 1], files in sorted order, as the program reads 8-bit PNGs."""
    arrays = [np.asarray(Image.open(Path(folder) / name), dtype=np.uint8) for name in names(folder)]
    images = np.stack(arrays).astype(np.float32) * np.float32(1.0 / 255.0)
    return images[:, None, :, :]


def write(folder, names_in_order, images):
    for name, image in zip(names_in_order, images):
        path = Path(folder) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.rint(image[0] * 255).astype(np.uint8)).save(path)


def setUpModule():
    WORK.mkdir(parents=True, exist_ok=True)
    run("datasets", "export", "demo_mri", "--out", "export", "image_size=32", "data_seed=3", "counts.train.positive=24",
        "counts.train.negative=24", "counts.test.positive=8", "counts.test.negative=8")
    # "Synthetic": the real training images with a faint checkerboard (a generator-like artefact).
    real = load(WORK / "export/train")
    y, x = np.mgrid[0:32, 0:32]
    fake = np.clip(real + np.where((x + y) % 2 == 0, 0.04, -0.04).astype(np.float32), 0, 1)
    write(WORK / "fake", names(WORK / "export/train"), fake)


def tearDownModule():
    shutil.rmtree(WORK, ignore_errors=True)


class Measurements(unittest.TestCase):
    def test_ssim_matches_metrics_image_quality(self):
        real, fake = load(WORK / "export/train"), load(WORK / "fake")
        for window in ("gaussian", "uniform"):
            out = run("metrics", "image-quality", "--reference", "export/train", "--test", "fake", "--json", "--ssim",
                      window).stdout
            per_image = {row["name"]: row["ssim"] for row in json.loads(out[out.index("{"):])["images"]}
            self.assertEqual(len(per_image), len(real))
            for name, a, b in zip(names(WORK / "export/train"), real, fake):
                self.assertEqual(frerec.ssim(a, b, window=window), per_image[name], name)
                self.assertEqual(frerec.ssim(a[0], b[0], window=window), per_image[name], "(H, W): one channel")
        self.assertEqual(frerec.ssim(real[0], real[0]), 1.0)

    def test_spectra_match_the_spectra_command(self):
        run("spectra", "--real", "export/train", "--synthetic", "fake", "--out", "spectra")
        summary = json.loads((WORK / "spectra/spectra.json").read_text())
        real, fake = load(WORK / "export/train"), load(WORK / "fake")
        np.testing.assert_allclose(frerec.profile(real), summary["real_profile"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(frerec.profile(fake, threads=2), summary["synthetic_profile"], rtol=0, atol=1e-12)
        gap = frerec.spectral_gap(real, fake)
        self.assertAlmostEqual(gap["high_band"], summary["spectral_gap"]["synthetic"]["high_band"], places=12)
        self.assertAlmostEqual(gap["all_radii"], summary["spectral_gap"]["synthetic"]["all_radii"], places=12)
        self.assertEqual(frerec.spectral_gap(real, real)["high_band"], 0.0)
        self.assertEqual(frerec.profile(real[0, 0]).shape, (len(summary["real_profile"]),))
        spectrum = frerec.spectrum(real)
        self.assertEqual(spectrum.shape, (32, 32))
        self.assertEqual(spectrum.argmax(), 16 * 32 + 16, "DC at the centre (fftshift)")


class Calibration(unittest.TestCase):
    def assert_same_as_folder(self, images, folder, calibration_json):
        """`images` equal the program's float output: its spectral gap and PSNR to 1e-12,
        its 8-bit PNGs exactly."""
        summary = json.loads((WORK / calibration_json).read_text())
        real = load(WORK / "export/train")
        gap = frerec.spectral_gap(real, images)
        self.assertAlmostEqual(gap["high_band"], summary["spectral_gap"]["after"]["high_band"], places=12)
        self.assertAlmostEqual(gap["all_radii"], summary["spectral_gap"]["after"]["all_radii"], places=12)
        written = load(WORK / folder)
        self.assertEqual(written.shape, images.shape)
        np.testing.assert_array_equal(np.rint(written * 255), np.rint(images * 255))

    def test_shr_matches_calibrate_stage_shr(self):
        run("calibrate", "--stage", "shr", "--real", "export/train", "--synthetic", "fake", "--out", "cal_shr",
            "shr.k=8", "shr.seed=5")
        out = frerec.shr(load(WORK / "fake"), load(WORK / "export/train"), k=8, seed=5, threads=2)
        self.assertEqual(out.dtype, np.float32)
        self.assert_same_as_folder(out, "cal_shr", "cal_shr/calibration.json")
        other = frerec.shr(load(WORK / "fake"), load(WORK / "export/train"), k=8, seed=6)
        self.assertFalse(np.array_equal(out, other), "the seed draws SHR's epsilon")
        same = frerec.shr(load(WORK / "fake")[:, 0], load(WORK / "export/train")[:, 0], k=8, seed=5, threads=1)
        np.testing.assert_array_equal(same, out)  # (N, H, W) input; thread count does not matter
        np.testing.assert_array_equal(
            frerec.shr(load(WORK / "fake"), load(WORK / "export/train"), k=8, seed=5, mask="circle"),
            frerec.Calibrator(load(WORK / "export/train"), stage="shr",
                              settings={"shr": {"k": 8, "seed": 5, "mask": "circle"}},
                              cache_dir=str(WORK / "python_cache")).fit().apply(load(WORK / "fake")))

    def test_calibrator_matches_calibrate(self):
        """A folder loaded with numpy and calibrated by frerec.Calibrator equals `frerec
        calibrate` on it (each trains its own tiny auto-encoder, in its own cache)."""
        run("--cache-dir", "cli_cache", "calibrate", "--real", "export/train", "--synthetic", "fake", "--out",
            "cal_full", *TINY_DAE)
        real, fake = load(WORK / "export/train"), load(WORK / "fake")
        calibrator = frerec.Calibrator(real, settings=TINY_SETTINGS, threads=2, cache_dir=str(WORK / "python_cache"))
        self.assertEqual(calibrator.stage, "full")
        self.assertIs(calibrator.fit(), calibrator)
        self.assertTrue(calibrator.checkpoint.startswith(str(WORK / "python_cache")), calibrator.checkpoint)
        out = calibrator.apply(fake)
        self.assert_same_as_folder(out, "cal_full", "cal_full/calibration.json")
        # The program's auto-encoder given as a checkpoint: the same images again.
        reused = frerec.Calibrator(real, settings={"shr": {"k": 8}}, checkpoint=str(WORK / "cal_full/dae_checkpoint.pt"),
                                   threads=2, cache_dir=str(WORK / "python_cache")).fit().apply(fake)
        np.testing.assert_array_equal(reused, out)


class Errors(unittest.TestCase):
    def test_cpp_errors_are_python_exceptions_with_the_message(self):
        a = np.zeros((1, 8, 8), np.float32)
        with self.assertRaisesRegex(frerec.ConfigError, r"frerec.ssim: a is 1x8x8 but b is 1x9x9"):
            frerec.ssim(a, np.zeros((1, 9, 9), np.float32))
        with self.assertRaisesRegex(ValueError, r"frerec.ssim window: ssim window .box. is not known; use .gaussian. or .uniform."):
            frerec.ssim(a, a, window="box")
        with self.assertRaisesRegex(frerec.ConfigError, r"images has 1 value outside \[0, 1\] or NaN"):
            bad = np.zeros((2, 1, 8, 8), np.float32)
            bad[1, 0, 3, 3] = np.nan
            frerec.spectrum(bad)
        with self.assertRaisesRegex(frerec.ConfigError, r"must be a float array with values in \[0, 1\], got dtype uint8"):
            frerec.profile(np.zeros((2, 8, 8), np.uint8))
        with self.assertRaisesRegex(frerec.ConfigError, r"shr\.k"):
            frerec.shr(np.zeros((2, 1, 8, 8)), np.zeros((2, 1, 8, 8)), k=0)
        with self.assertRaisesRegex(frerec.ConfigError, r"unknown key 'shr\.bogus'"):
            frerec.shr(np.zeros((2, 1, 8, 8)), np.zeros((2, 1, 8, 8)), bogus=1)
        with self.assertRaisesRegex(frerec.ConfigError, r"stage 'half' must be shr, rhm or full"):
            frerec.Calibrator(np.zeros((4, 1, 8, 8)), stage="half")
        with self.assertRaisesRegex(frerec.ConfigError, r"unknown key 'dae\.epoch'"):
            frerec.Calibrator(np.zeros((4, 1, 8, 8)), settings={"dae": {"epoch": 2}})
        with self.assertRaisesRegex(frerec.RunError, r"call fit\(\) before apply\(\)"):
            frerec.Calibrator(np.zeros((4, 1, 8, 8))).apply(np.zeros((1, 1, 8, 8)))
        with self.assertRaisesRegex(frerec.ConfigError, r"real images are 1x8x8 but synthetic images are 1x16x16"):
            frerec.Calibrator(np.zeros((4, 1, 8, 8)), stage="shr").fit().apply(np.zeros((1, 1, 16, 16)))
        with self.assertRaisesRegex(frerec.ConfigError, r"'nowhere' is not a folder"):
            frerec.load_results("nowhere")
        self.assertTrue(issubclass(frerec.RunError, RuntimeError))


class Results(unittest.TestCase):
    def test_load_results_returns_the_records(self):
        (WORK / "grid.yaml").write_text(
            "experiment: {kind: classify}\n"
            "data: {name: demo_mri, image_size: 32, counts: {train: {positive: 16, negative: 16}, "
            "test: {positive: 8, negative: 8}}}\n"
            "model: {name: resnet18}\n"
            "train: {epochs: 1, batch_size: 16, eval_batch_size: 16, workers: 1, warmup_epochs: 0}\n"
            "grid: {method.name: [raw, mixup]}\n")
        run("run", "grid.yaml")
        records = frerec.load_results(str(WORK / "results/grid"))
        self.assertIsInstance(records, list, "a list of dicts without pandas")
        self.assertEqual([r["cell"] for r in records],
                         ["demo_mri/mixup/resnet18/seed=0", "demo_mri/raw/resnet18/seed=0"])
        for record in records:
            on_disk = json.loads((WORK / "results/grid" / record["cell"] / "record.json").read_text())
            self.assertEqual(record, on_disk)
            self.assertEqual(record["status"], "ok")
        (WORK / "results/grid/demo_mri/raw/resnet18/seed=0/record.json").write_text("{\"status\": ")
        with self.assertRaisesRegex(frerec.RunError, r"raw/resnet18/seed=0/record.json' is not a readable record"):
            frerec.load_results(str(WORK / "results/grid"))


if __name__ == "__main__":
    unittest.main()
