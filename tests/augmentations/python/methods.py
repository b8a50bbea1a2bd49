"""Batch functions for tests/augmentations/test_python_method.cpp and the CLI tests: one per
behaviour of the `python` method (select with method.python.function)."""
import hashlib

import numpy as np

SETUP_CALLS = []


def setup(train_images, train_labels, synthetic_images, synthetic_labels, **params):
    SETUP_CALLS.append((train_images.shape, train_labels.shape, synthetic_images.shape, synthetic_labels.shape,
                        train_images.dtype.name, train_labels.dtype.name))


def identity(images, labels, rng, **params):
    return images, labels


def setup_shapes(images, labels, rng, **params):
    # Returns the shapes setup() saw, encoded in the first image (tests read them back).
    (train, train_labels, synthetic, synthetic_labels, image_dtype, label_dtype) = SETUP_CALLS[-1]
    if len(SETUP_CALLS) != 1 or image_dtype != "float32" or label_dtype != "int64":
        raise AssertionError(f"setup calls {SETUP_CALLS}")
    out = images.copy()
    out[0, 0, 0, :4] = np.array([train[0], train_labels[0], synthetic[0], synthetic_labels[0]]) / 1000.0
    return out, labels


def noise(images, labels, rng, scale=0.1):
    return np.clip(images + rng.normal(0.0, scale, images.shape), 0, 1).astype(np.float32), labels


def digest_log(images, labels, rng, log):
    """Noise from rng; appends the SHA-256 of what it returns to the file `log`."""
    out = np.clip(images + rng.normal(0.0, 0.05, images.shape), 0, 1).astype(np.float32)
    with open(log, "a") as f:
        f.write(hashlib.sha256(out.tobytes() + labels.tobytes()).hexdigest() + "\n")
    return out, labels


def write_in_place(images, labels, rng):
    images[0, 0, 0, 0] = 0.25
    return images, labels


def mixup_soft(images, labels, rng, alpha=0.4, classes=2):
    lam = rng.beta(alpha, alpha)
    perm = rng.permutation(images.shape[0])
    targets = np.eye(classes)[labels]
    return ((lam * images + (1 - lam) * images[perm]).astype(np.float32),
            lam * targets + (1 - lam) * targets[perm])


def double_batch(images, labels, rng):
    return np.concatenate([images, images[:, :, ::-1, :]]), np.concatenate([labels, labels])


def check_params(images, labels, rng, integer, real, flag, text, quoted, items, nested, nothing):
    expected = dict(integer=(int, 3), real=(float, 0.5), flag=(bool, True), text=(str, "hello"),
                    quoted=(str, "7"), items=(list, [1, 2.5, "x"]), nested=(dict, {"a": 1}), nothing=(type(None), None))
    got = dict(integer=integer, real=real, flag=flag, text=text, quoted=quoted, items=items, nested=nested,
               nothing=nothing)
    for name, (kind, value) in expected.items():
        if type(got[name]) is not kind or got[name] != value:
            raise AssertionError(f"{name}={got[name]!r} ({type(got[name]).__name__}), expected {value!r}")
    return images, labels


def raises(images, labels, rng):
    helper_that_fails(images)


def helper_that_fails(images):
    raise ValueError(f"cannot erase a batch of {images.shape[0]} images")


def wrong_shape(images, labels, rng):
    return images[:, 0], labels


def float64(images, labels, rng):
    return images.astype(np.float64), labels


def with_nan(images, labels, rng):
    out = images.copy()
    out[0, 0, 1, 1] = np.nan
    return out, labels


def out_of_range(images, labels, rng):
    out = images.copy()
    out[0, 0, 0, 0] = -0.5
    out[-1, 0, 0, 1] = 1.5
    return out, labels


def not_a_pair(images, labels, rng):
    return images


def list_images(images, labels, rng):
    return images.tolist(), labels


def label_out_of_range(images, labels, rng):
    return images, labels + 5


def wrong_label_count(images, labels, rng):
    return images, labels[:-1]


def soft_not_normalised(images, labels, rng):
    return images, np.full((images.shape[0], 2), 0.8)


def string_labels(images, labels, rng):
    return images, labels.astype(str)


not_callable = 3
