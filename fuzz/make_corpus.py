#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer targets (fuzz/corpus/<target>/) from the test
fixtures' shapes: configs from configs/ and the CLI tests, CSV and label files like
tests/datasets/test_loaders.cpp's trees, and small images of every format and depth a
dataset folder may hold. Run with Debian's Python (numpy, PIL): /usr/bin/python3
fuzz/make_corpus.py. Deterministic: rerunning rewrites the same bytes."""
import io
import pathlib

import numpy as np
from PIL import Image

root = pathlib.Path(__file__).resolve().parent
repo = root.parent
corpus = root / "corpus"


def put(target, name, data):
    path = corpus / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


# Configs: shipped files (their _base_ paths do not resolve in the scratch folder, which is
# itself a case) and self-contained ones with overrides after "%%".
for config in ["quickstart.yaml", "demo/table2.yaml", "base/demo_frerec.yaml", "paper/brain_tumor.yaml"]:
    put("config", config.replace("/", "_"), (repo / "configs" / config).read_text())
tiny = """experiment: {kind: classify}
data:
  name: demo_mri
  image_size: 32
  counts:
    train: {positive: 24, negative: 24}
    test: {positive: 16, negative: 16}
  synthetic: {name: gan, gan: {checkpoint: builtin}}
model: {name: resnet18}
train: {epochs: 1, batch_size: 16}
grid:
  method.name: [raw, gda]
  seed: [0, 1]
"""
put("config", "tiny.yaml", tiny)
put("config", "tiny_overrides.yaml", tiny + "\n%%\nseed=[3,4]\ngrid.train.lr=[0.1,0.01]\ndata.counts.train.positive=-1\n"
    "data.kaggle_dr.binarize=referable\ndata.root=/tmp\nseed=range(0,3)\nmethod.name=raw,gda\n")
put("config", "folder.yaml", "data: {name: image_folder, root: /tmp, channels: 3, interpolation: area, "
    "max_image_pixels: 1000, image_folder: {}}\n_delete_: x\n%%\ndata.synthetic.name=synthetic_folder\n")

# CSV: byte 0 even = plain text, odd = gzip.
csv_texts = {
    "manifest": "path,label,split\na.png,1,train\n\"b,c.png\",0,test\n\"say \"\"hi\"\".png\",1,\n",
    "bom_crlf": "\ufeffimage,level\r\n10_left,0\r\n10_right,4\r\n",
    "ragged": "a,b\n1,2,3\n",
}
for name, text in csv_texts.items():
    put("csv", name + "_plain", b"\x00" + text.encode())
    put("csv", name + "_gz", b"\x01" + text.encode())

# Labels: byte 0 = loader (0 Kaggle DR, 1 MIMIC, 2 brain tumour; +8 = gzipped MIMIC CSVs).
put("labels", "kaggle_dr", "\x00image,level\n10_left,0\n10_right,1\n13_left,2\n13_right,4\n%%\nimage,level,Usage\n"
    "1_left,0,Private\n1_right,3,Public\n")
metadata = ("dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns\n"
            "d1,10000032,50000001,CHEST (PA AND LAT),PA,24,24\nd2,10000032,50000001,CHEST (PA AND LAT),LATERAL,24,24\n"
            "d3,10000033,50000002,CHEST (PORTABLE AP),AP,24,24\nd4,11000034,50000003,CHEST (PA AND LAT),PA,24,24\n")
chexpert = ("subject_id,study_id,Atelectasis,Cardiomegaly,Edema\n10000032,50000001,,1.0,\n10000033,50000002,1.0,0.0,\n"
            "11000034,50000003,,-1.0,1.0\n")
split = ("dicom_id,study_id,subject_id,split\nd1,50000001,10000032,train\nd2,50000001,10000032,train\n"
         "d3,50000002,10000033,validate\nd4,50000003,11000034,test\n")
put("labels", "mimic", "\x01" + metadata + "\n%%\n" + chexpert + "\n%%\n" + split)
put("labels", "mimic_gz", "\x09" + metadata + "\n%%\n" + chexpert + "\n%%\n" + split)
put("labels", "brain_tumor", "\x02Training/glioma_tumor/g1.jpg\nTraining/meningioma_tumor/m1.jpg\n"
    "Training/pituitary_tumor/p1.jpg\nTraining/no_tumor/n1.jpg\nTesting/glioma/Te-gl_1.jpg\nTesting/notumor/Te-no_1.jpg\n")

# Images (fuzz_image_cache): byte 0 bit 0 = 3 channels, bit 1 = .jpg name.
rng = np.random.default_rng(0)
grey = (rng.random((12, 10)) * 255).astype(np.uint8)
rgb = (rng.random((12, 10, 3)) * 255).astype(np.uint8)
rgba = (rng.random((12, 10, 4)) * 255).astype(np.uint8)
grey16 = (rng.random((12, 10)) * 65535).astype(np.uint16)


def encoded(array, fmt, **kw):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **kw)
    return buffer.getvalue()


images = {
    "grey.png": encoded(grey, "PNG"), "rgb.png": encoded(rgb, "PNG"), "rgba.png": encoded(rgba, "PNG"),
    "grey16.png": encoded(grey16, "PNG"), "grey.jpg": encoded(grey, "JPEG", quality=90),
    "rgb.jpg": encoded(rgb, "JPEG", quality=90), "rgb_progressive.jpg": encoded(rgb, "JPEG", progressive=True),
    "rgb.bmp": encoded(rgb, "BMP"), "grey.tif": encoded(grey, "TIFF"), "rgb.tif": encoded(rgb, "TIFF"),
}
for name, data in images.items():
    put("image_cache", name, bytes([1 if data is images.get("rgb.png") or "rgb" in name else 0]) + data)
put("image_cache", "rgb_cut.jpg", b"\x03" + images["rgb.jpg"][: len(images["rgb.jpg"]) // 2])
